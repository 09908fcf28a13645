import { describe, expect, it } from "vitest";
import { placeWindows, virtioMmioCmdline } from "./mmio-placement.ts";

describe("virtioMmioCmdline", () => {
  it("announces each window with its size, address and IRQ, as Linux's virtio_mmio parses them", () => {
    expect(virtioMmioCmdline({ count: 2 })).toBe("virtio_mmio.device=0x200@0xd0000000:5 virtio_mmio.device=0x200@0xd0000200:10");
    expect(virtioMmioCmdline({ count: 1, base: 0xc0000000, irqs: [11] })).toBe("virtio_mmio.device=0x200@0xc0000000:11");
    expect(virtioMmioCmdline({ count: 0 })).toBe("");
  });

  it("refuses what no emulator could hold", () => {
    expect(() => virtioMmioCmdline({ count: 5 })).toThrow("too many devices (5) for 4 interrupt lines: give one IRQ per device");
    expect(() => virtioMmioCmdline({ count: 1, base: 0xd0001000 })).toThrow("base 0xd0001000 is not a 128 KiB aligned 32-bit address");
    expect(() => virtioMmioCmdline({ count: 2, irqs: [5, 5] })).toThrow("IRQ 5 given to two devices");
    expect(() => virtioMmioCmdline({ count: 1, irqs: [24] })).toThrow("IRQ 24 is not an IO-APIC input v86 has (1-23)");
    expect(() => placeWindows({ count: 257, irqs: Array.from({ length: 257 }, (_, i) => i) })).toThrow("one block holds 256 windows");
  });
});
