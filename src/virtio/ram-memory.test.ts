import { describe, expect, it } from "vitest";
import { RamMemory, inRange } from "./ram-memory.ts";

describe("inRange", () => {
  it.each([
    [0, 0, 0, true],
    [0, 16, 16, true],
    [15, 1, 16, true],
    [16, 0, 16, true],
    [16, 1, 16, false],
    [-1, 1, 16, false],
    [0, -1, 16, false],
    [0.5, 1, 16, false],
    [NaN, 1, 16, false],
    [Infinity, 0, 16, false],
    [2 ** 53, 2 ** 53, 2 ** 53, false],
    [1, Number.MAX_SAFE_INTEGER, 16, false],
  ])("inRange(%s, %s, %s) = %s", (a, l, s, want) => expect(inRange(a, l, s)).toBe(want));
});

describe("RamMemory", () => {
  it("reads and writes little-endian and reports each change", () => {
    const ram = new Uint8Array(16);
    const writes: [number, number][] = [];
    const m = new RamMemory(ram, { onWrite: (s, e) => writes.push([s, e]) });
    expect(m.size).toBe(16);
    expect(m.writeU32(0, 0xdeadbeef)).toBe(true);
    expect(Array.from(ram.subarray(0, 4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(m.readU32(0)).toBe(0xdeadbeef);
    expect(m.writeU16(4, 0x1234)).toBe(true);
    expect(m.readU16(4)).toBe(0x1234);
    expect(m.write(8, new Uint8Array([1, 2, 3]))).toBe(true);
    expect(Array.from(m.view(8, 3)!)).toEqual([1, 2, 3]);
    expect(writes).toEqual([[0, 4], [4, 6], [8, 11]]);
  });

  it("refuses every access that leaves RAM and writes nothing", () => {
    const backing = new Uint8Array(32);
    const ram = backing.subarray(0, 16); // bytes 16..31 are a guard
    const writes: number[] = [];
    const m = new RamMemory(ram, { onWrite: (s) => writes.push(s) });
    expect(m.writeU32(13, 1)).toBe(false);
    expect(m.writeU16(15, 1)).toBe(false);
    expect(m.write(10, new Uint8Array(7))).toBe(false);
    expect(m.writeU32(-1, 1)).toBe(false);
    expect(m.writeU32(1.5, 1)).toBe(false);
    expect(m.readU32(13)).toBeNull();
    expect(m.readU16(NaN)).toBeNull();
    expect(m.view(0, 17)).toBeNull();
    expect(m.view(16, 0)?.length).toBe(0);
    expect(writes).toEqual([]);
    expect(backing.every((b) => b === 0)).toBe(true);
  });

  it("fetches the RAM view on every call, so a replaced view is used", () => {
    let ram = new Uint8Array(8);
    const m = new RamMemory(() => ram);
    ram = new Uint8Array(64);
    expect(m.size).toBe(64);
    expect(m.writeU32(60, 7)).toBe(true);
    expect(ram[60]).toBe(7);
  });

  it("busWrite32 lands in RAM, else goes to the bus hook", () => {
    const ram = new Uint8Array(16);
    const bus: [number, number][] = [];
    const m = new RamMemory(ram, { busWrite: (a, v) => (bus.push([a, v]), a === 0xfee00000) });
    expect(m.busWrite32(4, 0x11223344)).toBe(true);
    expect(m.readU32(4)).toBe(0x11223344);
    expect(m.busWrite32(0xfee00000, 0x41)).toBe(true);
    expect(m.busWrite32(0xfec00000, 0x41)).toBe(false);
    expect(m.busWrite32(2 ** 32, 1)).toBe(false); // never reaches the hook
    expect(bus).toEqual([[0xfee00000, 0x41], [0xfec00000, 0x41]]);
  });

  it("busWrite32 survives a throwing hook and works without one", () => {
    const m = new RamMemory(new Uint8Array(4), { busWrite: () => { throw new Error("platform bug"); } });
    expect(m.busWrite32(0xfee00000, 1)).toBe(false);
    expect(new RamMemory(new Uint8Array(4)).busWrite32(0xfee00000, 1)).toBe(false);
  });
});

describe("RamMemory bulk copies", () => {
  it("copyOut and copyIn move small and large pieces at offsets and report writes", () => {
    const ram = Uint8Array.from({ length: 256 }, (_, i) => i);
    const writes: [number, number][] = [];
    const m = new RamMemory(ram, { onWrite: (s, e) => writes.push([s, e]) });
    const small = new Uint8Array(8);
    expect(m.copyOut(10, small, 2, 4)).toBe(true);
    expect(Array.from(small)).toEqual([0, 0, 10, 11, 12, 13, 0, 0]);
    const big = new Uint8Array(100);
    expect(m.copyOut(100, big, 0, 100)).toBe(true);
    expect(big[99]).toBe(199);
    expect(m.copyIn(0, Uint8Array.of(9, 8, 7), 1, 2)).toBe(true);
    expect(Array.from(ram.subarray(0, 3))).toEqual([8, 7, 2]);
    const src = new Uint8Array(64).fill(0xaa);
    expect(m.copyIn(192, src, 0, 64)).toBe(true);
    expect(ram[255]).toBe(0xaa);
    expect(writes).toEqual([[0, 2], [192, 256]]);
  });

  it("refuses ranges outside RAM or outside the host array, changing nothing", () => {
    const ram = new Uint8Array(64);
    const m = new RamMemory(ram, { onWrite: () => expect.unreachable() });
    expect(m.copyOut(60, new Uint8Array(8), 0, 8)).toBe(false);
    expect(m.copyOut(0, new Uint8Array(8), 4, 8)).toBe(false);
    expect(m.copyIn(-1, new Uint8Array(8), 0, 1)).toBe(false);
    expect(m.copyIn(0, new Uint8Array(8), 0, 9)).toBe(false);
    expect(m.copyIn(0, new Uint8Array(40), 0, 0.5)).toBe(false);
    expect(ram.every((b) => b === 0)).toBe(true);
  });
});
