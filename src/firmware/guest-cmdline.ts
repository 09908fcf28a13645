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
 * The MSI register layout the devices offer (attachVirtioMmio's `msi.layout`): "v3", per-queue
 * address/data pairs beside virtio 1.4's RING_RESET (docs/virtio-mmio-msi-v3.md), or "2020", the
 * 2020 proposal's vector table (docs/virtio-mmio-msi.md), kept for comparison.
 */
export type MsiLayout = "v3" | "2020";

export const MSI_LAYOUTS: readonly MsiLayout[] = ["v3", "2020"];

/**
 * How the driver signals: per-queue MSI (the v3 layout), the 2020 vector table, or the line
 * (the devices offer no MSI, or the driver did not take it).
 */
export type MsiMode = "queue" | "table" | "line";

/** The mode the driver takes when the devices offer `layout` and all goes well. */
export function msiModeOfLayout(layout: MsiLayout): Exclude<MsiMode, "line"> {
  return layout === "v3" ? "queue" : "table";
}

/**
 * The kernel argument our driver needs for `layout`: none for v3 (the feature bit says it all);
 * for the 2020 layout `virtio_mmio.msi_layout=2020`, without which the driver reads bit 40 as
 * virtio 1.4's RING_RESET, as it must on every other device (docs/virtio-mmio-msi-v3.md, "The
 * 2020 layout, kept for comparison").
 */
export function msiLayoutCmdline(layout: MsiLayout): string {
  return layout === "2020" ? "virtio_mmio.msi_layout=2020" : "";
}
