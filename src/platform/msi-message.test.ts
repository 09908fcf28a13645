import { describe, expect, it } from "vitest";
import { decodeMsi, decodeMsiInto, encodeMsi, inMsiWindow, newMsiMessage } from "./msi-message.ts";

describe("decodeMsi", () => {
  it("reads every address field", () => {
    // destination 0x5a, redirection hint, logical mode
    const m = decodeMsi(0xfee5a00c, 0x41)!;
    expect(m.destination).toBe(0x5a);
    expect(m.redirectionHint).toBe(true);
    expect(m.logical).toBe(true);
    const p = decodeMsi(0xfee01000, 0x41)!;
    expect(p).toMatchObject({ destination: 1, redirectionHint: false, logical: false });
  });

  it("reads every data field", () => {
    expect(decodeMsi(0xfee00000, 0x0000_0031)).toMatchObject({ vector: 0x31, deliveryMode: 0, assert: false, level: false });
    expect(decodeMsi(0xfee00000, 0x0000_c1ef)).toMatchObject({ vector: 0xef, deliveryMode: 1, assert: true, level: true });
    for (let mode = 0; mode < 8; mode++) {
      expect(decodeMsi(0xfee00000, (mode << 8) | 0x40)!.deliveryMode).toBe(mode);
    }
  });

  it("claims exactly 0xFEE00000-0xFEEFFFFF", () => {
    expect(decodeMsi(0xfedfffff, 0x41)).toBeNull();
    expect(decodeMsi(0xfef00000, 0x41)).toBeNull();
    expect(decodeMsi(0x1000, 0x41)).toBeNull();
    expect(inMsiWindow(0xfee00000)).toBe(true);
    expect(inMsiWindow(0xfeefffff)).toBe(true);
  });

  it("round-trips through encodeMsi", () => {
    const fields = { destination: 0x80, logical: true, redirectionHint: true, vector: 0x99, deliveryMode: 1, level: true, assert: true };
    const { addr, data } = encodeMsi(fields);
    expect(decodeMsi(addr, data)).toEqual(fields);
  });
});

describe("decodeMsiInto", () => {
  it("fills the same object as decodeMsi returns, and refuses addresses outside the window", () => {
    const out = newMsiMessage();
    for (const [addr, data] of [[0xfee0300c, 0xc1a5], [0xfee00000, 0x0041], [0xfeeff004, 0x8123]] as const) {
      expect(decodeMsiInto(addr, data, out)).toBe(true);
      expect(out).toEqual(decodeMsi(addr, data));
    }
    expect(decodeMsiInto(0xfed00000, 0x41, out)).toBe(false);
  });
});
