import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.ts";

describe("crc32", () => {
  it("is the standard CRC-32, in one piece or continued", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
    const whole = crc32(bytes);
    expect(crc32(bytes.subarray(50_001), crc32(bytes.subarray(0, 50_001)))).toBe(whole);
    // Cross-checked against another implementation where Node has one.
    if (typeof zlibCrc32 === "function") expect(whole).toBe(zlibCrc32(bytes));
  });

  it("changes when any one byte does", () => {
    const bytes = new Uint8Array(4099);
    const base = crc32(bytes);
    for (const at of [0, 1, 2, 3, 2048, 4098]) {
      bytes[at] = 1;
      expect(crc32(bytes)).not.toBe(base);
      bytes[at] = 0;
    }
  });
});
