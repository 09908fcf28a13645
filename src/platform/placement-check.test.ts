import { describe, expect, it } from "vitest";
import { DEFAULT_MMIO_BASE } from "../firmware/mmio-placement.ts";
import { checkPlacement, v86TakenIrqs, type V86Layout } from "./placement-check.ts";

const MiB = 1024 * 1024;
const layout = (o: Partial<V86Layout> = {}): V86Layout => ({
  memorySize: 256 * MiB,
  vgaMemorySize: 2 * MiB,
  acpi: true,
  takenIrqs: v86TakenIrqs({ acpi: true, devices: {} }),
  ...o,
});

describe("checkPlacement against what v86 uses", () => {
  it("accepts the defaults in a machine like ours", () => {
    expect(checkPlacement({ count: 4 }, layout(), true)).toEqual([]);
  });

  it("refuses MSI without ACPI, naming both ways out, and takes the line only", () => {
    expect(checkPlacement({ count: 1 }, layout({ acpi: false }), true)).toEqual([
      "MSI needs v86's local APIC, which exists only with ACPI: create the V86 with acpi: true, or attach with msi: false",
    ]);
    expect(checkPlacement({ count: 1 }, layout({ acpi: false }), false)).toEqual([]);
    expect(checkPlacement({ count: 1, irqs: [16] }, layout({ acpi: false }), false)).toEqual([
      "IRQ 16 needs the IO-APIC, which v86 has only with acpi: true (the PIC has 0-15)",
    ]);
  });

  it("refuses a block over RAM, the framebuffer, the APICs or the BIOS", () => {
    expect(checkPlacement({ count: 1, base: 0x1000000 }, layout(), true)).toEqual([
      "base 0x1000000: the 128 KiB block overlaps guest RAM (0x0-0xfffffff)",
    ]);
    // The block's start below RAM's end is enough.
    expect(checkPlacement({ count: 1, base: DEFAULT_MMIO_BASE }, layout({ memorySize: DEFAULT_MMIO_BASE + 1 }), true)).toHaveLength(1);
    expect(checkPlacement({ count: 1, base: 0xe0100000 }, layout(), true)).toEqual([
      "base 0xe0100000: the 128 KiB block overlaps the VGA linear framebuffer (0xe0000000-0xe01fffff)",
    ]);
    expect(checkPlacement({ count: 1, base: 0xfee00000 }, layout(), true)).toEqual([
      "base 0xfee00000: the 128 KiB block overlaps the local APIC (0xfee00000-0xfee1ffff)",
    ]);
    expect(checkPlacement({ count: 1, base: 0xfec00000 }, layout(), true)).toEqual([
      "base 0xfec00000: the 128 KiB block overlaps the IO-APIC (0xfec00000-0xfec1ffff)",
    ]);
    expect(checkPlacement({ count: 1, base: 0xfffe0000 }, layout(), true)[0]).toMatch(/overlaps the BIOS/);
    expect(checkPlacement({ count: 1, base: 0xe0200000 }, layout(), true)).toEqual([]);
  });

  it("refuses an IRQ one of v86's devices drives, naming the device", () => {
    expect(checkPlacement({ count: 2, irqs: [5, 4] }, layout(), true)).toEqual(["IRQ 4 is taken by COM1"]);
    expect(checkPlacement({ count: 1, irqs: [9] }, layout(), true)).toEqual(["IRQ 9 is taken by the ACPI SCI"]);
    expect(checkPlacement({ count: 1, irqs: [9] }, layout({ acpi: false, takenIrqs: v86TakenIrqs({ acpi: false, devices: {} }) }), false)).toEqual([]);
    const withVirtioNet = layout({ takenIrqs: v86TakenIrqs({ acpi: true, devices: { virtio_net: {} } }) });
    expect(checkPlacement({ count: 3 }, withVirtioNet, true)).toEqual([
      "IRQ 10 is taken by v86's virtio_net (PCI links)",
      "IRQ 11 is taken by v86's virtio_net (PCI links)",
    ]);
    const withCom2 = layout({ takenIrqs: v86TakenIrqs({ acpi: true, devices: { uart1: {}, parallel1: {} } }) });
    expect(checkPlacement({ count: 2, irqs: [3, 5] }, withCom2, true)).toEqual(["IRQ 3 is taken by COM2/COM4", "IRQ 5 is taken by LPT2"]);
  });

  it("reports too many devices as the one problem", () => {
    expect(checkPlacement({ count: 5 }, layout(), true)).toEqual(["virtio-mmio: too many devices (5) for 4 interrupt lines: give one IRQ per device"]);
  });
});
