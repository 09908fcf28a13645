import { describe, expect, it } from "vitest";
import { MemoryBackend } from "./memory-backend.ts";

describe("MemoryBackend", () => {
  it("reads and writes in place, synchronously", () => {
    const image = new Uint8Array(4096).map((_, i) => i & 0xff);
    const b = new MemoryBackend(image);
    const dest = new Uint8Array(8);
    expect(b.read(1000, dest)).toBeUndefined();
    expect([...dest]).toEqual([232, 233, 234, 235, 236, 237, 238, 239]);
    b.write(0, Uint8Array.of(9, 9));
    expect(image[1]).toBe(9);
    b.writeZeroes(1000, 8);
    b.discard(2000, 4);
    expect(image.subarray(1000, 1008).every((x) => x === 0)).toBe(true);
    expect(image.subarray(2000, 2004).every((x) => x === 0)).toBe(true);
    expect(b.size).toBe(4096);
  });

  it("refuses out-of-range access and writes when read-only", () => {
    const b = new MemoryBackend(new ArrayBuffer(1024), { readOnly: true });
    expect(() => b.read(1020, new Uint8Array(8))).toThrow(RangeError);
    expect(() => b.read(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => b.write(0, new Uint8Array(1))).toThrow(/read-only/);
    expect(() => b.writeZeroes(0, 1)).toThrow(/read-only/);
  });
});
