import { describe, expect, it } from "vitest";
import { MmioBus } from "../mmio-bus.ts";
import type { V86Io } from "./internals.ts";
import { MmioRegistration } from "./mmio-register.ts";

describe("MmioRegistration", () => {
  it("registers one 128 KiB block whose handlers reach the bus, and its self-check reads through v86", () => {
    const bus = new MmioBus(0xd0000000, () => {});
    const seen: string[] = [];
    bus.attach(1, { read: (o, w) => (seen.push(`r${w} ${o.toString(16)}`), 0x1234), write: (o, w, v) => void seen.push(`w${w} ${o.toString(16)}=${v.toString(16)}`) });
    const calls: unknown[][] = [];
    const io: V86Io = { mmap_register: (...args) => void calls.push(args) };
    type Handlers = [number, number, (a: number) => number, (a: number, v: number) => void, (a: number) => number, (a: number, v: number) => void];
    const read32s = (addr: number) => (calls[0] as Handlers)[4](addr);
    const patch = new MmioRegistration({ io, read32s }, bus);
    expect(patch.selfCheck()).toEqual([]);
    patch.install();
    expect(calls[0]!.slice(0, 2)).toEqual([0xd0000000, 0x20000]);
    const [, , read8, write8, read32, write32] = calls[0] as Handlers;
    expect(read32(0xd0000204)).toBe(0x1234);
    write32(0xd0000250, -1);
    read8(0xd0000201);
    write8(0xd0000300, 7);
    expect(seen).toEqual(["r4 4", "w4 50=ffffffff", "r1 1", "w1 100=7"]);
    expect(patch.selfCheck()).toEqual([]);
    expect(new MmioRegistration({ io: {} as V86Io, read32s }, bus).selfCheck()).toEqual(["cpu.io.mmap_register is not a function"]);
    // A v86 whose physical read does not reach the block.
    const deaf = new MmioRegistration({ io: { mmap_register: () => {} }, read32s: () => 0 }, bus);
    deaf.install();
    expect(deaf.selfCheck()).toHaveLength(1);
  });
});
