// Where virtio-mmio windows go in a v86 machine, and the kernel arguments that announce them.
// Pure functions: the user calls virtioMmioCmdline before creating the V86 (the kernel command
// line is written into guest memory when the emulator is built), the SSDT (acpi-ssdt.ts)
// describes the same windows, and attachVirtioMmio checks the emulator it is given against the
// same placement (src/platform/placement-check.ts). A window's size is virtio-mmio's own
// (src/virtio/constants.ts), written once.

import { MMIO_WINDOW_SIZE } from "../virtio/constants.ts";

/** v86 maps MMIO in 128 KiB blocks: all our windows share one (src/platform/mmio-bus.ts). */
export const MMIO_BLOCK_SIZE = 0x20000;
/** How many windows one block holds. */
export const MMIO_SLOTS = MMIO_BLOCK_SIZE / MMIO_WINDOW_SIZE;

/** The default block: a free 128 KiB below v86's VGA linear framebuffer (0xE0000000). */
export const DEFAULT_MMIO_BASE = 0xd0000000;
/**
 * The default IO-APIC inputs. v86's ACPI tables make 5, 10 and 11 level-triggered (MADT
 * overrides); 7 keeps the ISA default, edge-triggered. 5 is v86's SB16 and 7 its first parallel
 * port, 10 and 11 the PCI links of its NE2000: none raises its line unless a guest driver for
 * it programs it (our guest has none; see V86_IRQS).
 */
export const DEFAULT_MMIO_IRQS: readonly number[] = [5, 10, 11, 7];

export interface MmioPlacement {
  /** How many devices (one window and one interrupt line each). */
  readonly count: number;
  /** The 128 KiB aligned block holding the windows. Default DEFAULT_MMIO_BASE. */
  readonly base?: number;
  /** One IO-APIC input per device, in order. Default DEFAULT_MMIO_IRQS. */
  readonly irqs?: readonly number[];
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Each device's window address and IRQ, or throws when the placement itself is impossible. */
export function placeWindows(p: MmioPlacement): Array<{ address: number; irq: number }> {
  const base = p.base ?? DEFAULT_MMIO_BASE;
  const irqs = p.irqs ?? DEFAULT_MMIO_IRQS;
  if (!Number.isInteger(p.count) || p.count < 0) throw new Error(`virtio-mmio: device count ${p.count} is not a count`);
  if (!Number.isInteger(base) || base < 0 || base > 0xffffffff || base % MMIO_BLOCK_SIZE !== 0) {
    throw new Error(`virtio-mmio: base ${hex(base)} is not a 128 KiB aligned 32-bit address (v86 maps MMIO in 128 KiB blocks)`);
  }
  if (p.count > MMIO_SLOTS) throw new Error(`virtio-mmio: too many devices (${p.count}): one block holds ${MMIO_SLOTS} windows`);
  if (p.count > irqs.length) {
    throw new Error(`virtio-mmio: too many devices (${p.count}) for ${irqs.length} interrupt lines: give one IRQ per device`);
  }
  const used = irqs.slice(0, p.count);
  for (const irq of used) {
    if (!Number.isInteger(irq) || irq < 1 || irq > 23) throw new Error(`virtio-mmio: IRQ ${irq} is not an IO-APIC input v86 has (1-23)`);
  }
  const dup = used.find((irq, i) => used.indexOf(irq) !== i);
  if (dup !== undefined) throw new Error(`virtio-mmio: IRQ ${dup} given to two devices (v86's lines cannot be shared)`);
  return used.map((irq, i) => ({ address: base + i * MMIO_WINDOW_SIZE, irq }));
}

/**
 * `virtio_mmio.device=<size>@<base>:<irq>` for each device, as Linux's virtio_mmio reads it
 * (a kernel built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). Pass it in the V86 constructor's
 * `cmdline`, with the same placement given to attachVirtioMmio.
 */
export function virtioMmioCmdline(p: MmioPlacement): string {
  return placeWindows(p)
    .map(({ address, irq }) => `virtio_mmio.device=${hex(MMIO_WINDOW_SIZE)}@${hex(address)}:${irq}`)
    .join(" ");
}
