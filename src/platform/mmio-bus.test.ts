import { describe, expect, it } from "vitest";
import { MmioBus, type MmioWindow } from "./mmio-bus.ts";

describe("MmioBus", () => {
  it("dispatches by window (v86/mmio-register.test.ts: the block as v86 sees it)", () => {
    const seen: string[] = [];
    const window = (name: string): MmioWindow => ({
      read: (offset, width) => {
        seen.push(`${name} r${width} ${offset.toString(16)}`);
        return 0x1234;
      },
      write: (offset, width, value) => void seen.push(`${name} w${width} ${offset.toString(16)}=${value.toString(16)}`),
    });
    const bus = new MmioBus(0xd0000000, () => {});
    expect(bus.attach(0, window("a"))).toBe(0xd0000000);
    expect(bus.attach(1, window("b"))).toBe(0xd0000200);
    expect(bus.read(0xd0000204, 4)).toBe(0x1234);
    bus.write(0xd0000050, 4, -1);
    bus.read(0xd0000101, 1);
    bus.write(0xd0000300, 1, 7);
    expect(seen).toEqual(["b r4 4", "a w4 50=ffffffff", "a r1 101", "b w1 100=7"]);
  });

  it("answers all-ones from empty slots and contains a throwing window", () => {
    const faults: unknown[] = [];
    const bus = new MmioBus(0xd0000000, (e) => faults.push(e));
    bus.attach(0, {
      read: () => {
        throw new Error("bug");
      },
      write: () => {
        throw new Error("bug");
      },
    });
    expect(bus.read(0xd0000400, 4)).toBe(-1);
    expect(bus.read(0xd0000000, 4)).toBe(0);
    bus.write(0xd0000000, 4, 1);
    expect(bus.counters).toMatchObject({ unclaimed: 1, faults: 2 });
    expect(faults).toHaveLength(2);
    expect(bus.inGuestAccess).toBe(false);
  });

  it("knows when it is inside a guest access", () => {
    const bus = new MmioBus(0xd0000000, () => {});
    let inside = false;
    bus.attach(0, { read: () => ((inside = bus.inGuestAccess), 0), write: () => {} });
    bus.read(0xd0000000, 4);
    expect(inside).toBe(true);
    expect(bus.inGuestAccess).toBe(false);
  });

  it("refuses an unaligned base and a taken slot", () => {
    expect(() => new MmioBus(0xd0001000, () => {})).toThrow(/aligned/);
    const bus = new MmioBus(0xd0000000, () => {});
    bus.attach(3, { read: () => 0, write: () => {} });
    expect(() => bus.attach(3, { read: () => 0, write: () => {} })).toThrow(/taken/);
    expect(() => bus.attach(256, { read: () => 0, write: () => {} })).toThrow(/no MMIO slot/);
  });
});
