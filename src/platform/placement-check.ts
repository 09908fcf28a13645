// Whether a placement (src/firmware/mmio-placement.ts) fits the emulator it is attached to:
// v86's own regions and interrupt lines, read from the V86 by attachVirtioMmio (attach.ts).

import { DEFAULT_MMIO_BASE, MMIO_BLOCK_SIZE, placeWindows, type MmioPlacement } from "../firmware/mmio-placement.ts";

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** What an emulator already uses, as attachVirtioMmio reads it from v86. */
export interface V86Layout {
  /** Guest RAM size in bytes (RAM starts at 0, VGA and BIOS areas below 1 MiB inside it). */
  readonly memorySize: number;
  /** The VGA linear framebuffer's size (it sits at 0xE0000000). */
  readonly vgaMemorySize: number;
  /** Whether v86 was created with `acpi: true` (its local APIC and IO-APIC exist). */
  readonly acpi: boolean;
  /** IRQs v86's own devices drive, with who drives them. */
  readonly takenIrqs: ReadonlyMap<number, string>;
}

/** v86's fixed regions above RAM (0.5.462): where a block may not go. */
export function v86Regions(layout: Pick<V86Layout, "memorySize" | "vgaMemorySize">): Array<{ start: number; size: number; name: string }> {
  return [
    { start: 0, size: layout.memorySize, name: "guest RAM" },
    { start: 0xe0000000, size: layout.vgaMemorySize, name: "the VGA linear framebuffer" },
    { start: 0xfeb00000, size: 0x100000, name: "the option ROM area" },
    { start: 0xfec00000, size: 0x20000, name: "the IO-APIC" },
    { start: 0xfee00000, size: 0x20000, name: "the local APIC" },
    { start: 0xfff00000, size: 0x100000, name: "the BIOS" },
  ];
}

/**
 * IRQs v86's own devices raise (0.5.462): timer, keyboard, cascade, COM1, floppy, RTC, mouse,
 * FPU, IDE; the ACPI SCI with ACPI; COM2/4 and LPT2 when enabled; 10 and 11 for its virtio PCI
 * devices (SeaBIOS routes the PCI links there).
 */
export function v86TakenIrqs(o: { acpi: boolean; devices: Record<string, unknown> }): Map<number, string> {
  const taken = new Map<number, string>([
    [0, "the PIT"],
    [1, "the PS/2 keyboard"],
    [2, "the PIC cascade"],
    [4, "COM1"],
    [6, "the floppy controller"],
    [8, "the RTC"],
    [12, "the PS/2 mouse"],
    [13, "the FPU"],
    [14, "the primary IDE channel"],
    [15, "the secondary IDE channel"],
  ]);
  if (o.acpi) taken.set(9, "the ACPI SCI");
  if (o.devices.uart1 || o.devices.uart3) taken.set(3, "COM2/COM4");
  if (o.devices.parallel1) taken.set(5, "LPT2");
  const pci = ["virtio_net", "virtio_9p", "virtio_console", "virtio_balloon"].filter((name) => o.devices[name]);
  if (pci.length) for (const irq of [10, 11]) taken.set(irq, `v86's ${pci.join(", ")} (PCI links)`);
  return taken;
}

/** Every reason the placement cannot work in this emulator, one line each (empty: it can). */
export function checkPlacement(p: MmioPlacement, layout: V86Layout, msi: boolean): string[] {
  const problems: string[] = [];
  let windows: Array<{ address: number; irq: number }>;
  try {
    windows = placeWindows(p);
  } catch (error) {
    return [(error as Error).message];
  }
  if (msi && !layout.acpi) {
    problems.push("MSI needs v86's local APIC, which exists only with ACPI: create the V86 with acpi: true, or attach with msi: false");
  }
  const base = p.base ?? DEFAULT_MMIO_BASE;
  for (const r of v86Regions(layout)) {
    if (base < r.start + r.size && r.start < base + MMIO_BLOCK_SIZE) {
      problems.push(`base ${hex(base)}: the 128 KiB block overlaps ${r.name} (${hex(r.start)}-${hex(r.start + r.size - 1)})`);
    }
  }
  for (const { irq } of windows) {
    const who = layout.takenIrqs.get(irq);
    if (who) problems.push(`IRQ ${irq} is taken by ${who}`);
    if (!layout.acpi && irq > 15) problems.push(`IRQ ${irq} needs the IO-APIC, which v86 has only with acpi: true (the PIC has 0-15)`);
  }
  return problems;
}
