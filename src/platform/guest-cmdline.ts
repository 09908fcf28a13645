// The kernel command line our guest image boots with, wherever it runs (the page, the `guest`
// command, the tests and benchmarks), before devices, settings and the user's additions.

/**
 * - console=ttyS0: the shell runs on the first serial port (there are no virtual terminals).
 * - no_timer_check: skips the IO-APIC timer check, which counts timer ticks across a delay
 *   loop calibrated earlier in the boot. v86's timer follows the host's clock, so a host that
 *   runs the emulator faster or slower between the calibration and the check (a loaded
 *   machine, two VMs in one thread) made the kernel panic with "IO-APIC + timer doesn't work"
 *   (seen in tests/guest/net-switch.test.ts on a loaded 2-core host).
 */
export const GUEST_BASE_CMDLINE = "console=ttyS0 no_timer_check";

/**
 * Added unless v86's IDE disk is wanted: skips libata's PIIX driver, so the boot does not wait
 * for the probe of v86's IDE controller and its ATAPI CD-ROM (guest/kernel.config).
 */
export const NO_IDE_CMDLINE = "initcall_blacklist=piix_init";

/**
 * Which MSI design our driver patch uses on devices that offer both (docs/virtio-mmio-msi.md,
 * "The per-queue mode"): per-queue address/data pairs, or the vector table. Without the
 * parameter the driver prefers per-queue. "line" is no MSI at all: the devices do not offer it.
 */
export type MsiMode = "queue" | "table" | "line";

export const MSI_MODES: readonly MsiMode[] = ["queue", "table", "line"];

/** The kernel argument that asks our driver for `mode` ("" for the line: the devices decide). */
export function msiModeCmdline(mode: MsiMode): string {
  return mode === "line" ? "" : `virtio_mmio.msi_mode=${mode}`;
}
