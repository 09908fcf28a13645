// The SSDT's bytes against the ACPI specification's encodings, written out here by hand, and
// against iasl's disassembler when it is installed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { virtioMmioAcpiTable, virtioMmioSsdt } from "./acpi-ssdt.ts";
import { ACPI_HEADER_SIZE, extendedInterrupt, INTERRUPT_FLAG, integer, memory32Fixed, nameSeg, pkgLength } from "./aml.ts";

const hex = (s: string) => s.replace(/\s+|#[^\n]*/g, "").match(/../g)!.map((b) => parseInt(b, 16));
const ascii = (bytes: Uint8Array | number[]) => String.fromCharCode(...bytes);
const u32 = (t: Uint8Array, at: number) => new DataView(t.buffer, t.byteOffset).getUint32(at, true);

describe("AML encodings", () => {
  it("PkgLength counts its own bytes and switches to the multi-byte form at 64", () => {
    expect(pkgLength(0)).toEqual([0x01]);
    expect(pkgLength(62)).toEqual([0x3f]); // 62 + 1 = 63, still one byte
    expect(pkgLength(63)).toEqual([0x41, 0x04]); // 63 + 2 = 65 = 0x41: lead 0x40 | 1, then 0x04
    expect(pkgLength(0xffd)).toEqual([0x4f, 0xff]); // 0xfff, the largest with one byte following
    expect(pkgLength(0xffe)).toEqual([0x81, 0x00, 0x01]); // 0x1001
    expect(pkgLength(0xffffc)).toEqual([0x8f, 0xff, 0xff]); // 0xfffff, the largest with two following
    expect(pkgLength(0xffffd)).toEqual([0xc1, 0x00, 0x00, 0x01]); // 0x100001
    expect(() => pkgLength(0x10000000)).toThrow(/PkgLength/);
  });

  it("integers take the shortest form; names are four characters", () => {
    expect(integer(0)).toEqual([0x00]);
    expect(integer(1)).toEqual([0x01]);
    expect(integer(2)).toEqual([0x0a, 0x02]);
    expect(integer(0x100)).toEqual([0x0b, 0x00, 0x01]);
    expect(integer(0xd0000000)).toEqual([0x0c, 0x00, 0x00, 0x00, 0xd0]);
    expect(nameSeg("_SB")).toEqual(hex("5f53425f"));
    expect(() => nameSeg("vm00")).toThrow(/NameSeg/);
    expect(() => nameSeg("0ABC")).toThrow(/NameSeg/);
  });

  it("resource descriptors as ACPI 6.4.3.4 and 6.4.3.6 lay them out", () => {
    // tag 0x86, length 9, information (bit 0: writable), base, length
    expect(memory32Fixed(true, 0xd0000200, 0x200)).toEqual(hex("86 0900 01 000200d0 00020000"));
    expect(memory32Fixed(false, 0x1000, 0x10)).toEqual(hex("86 0900 00 00100000 10000000"));
    // tag 0x89, length 2 + 4n, flags, count, interrupts
    expect(extendedInterrupt(INTERRUPT_FLAG.CONSUMER, [5])).toEqual(hex("89 0600 01 01 05000000"));
    expect(extendedInterrupt(INTERRUPT_FLAG.CONSUMER | INTERRUPT_FLAG.EDGE | INTERRUPT_FLAG.ACTIVE_LOW | INTERRUPT_FLAG.SHARED, [16, 17])).toEqual(
      hex("89 0a00 0f 02 10000000 11000000"),
    );
    expect(() => memory32Fixed(true, 0xffffff00, 0x200)).toThrow(/4 GiB/);
  });
});

describe("virtioMmioSsdt", () => {
  const one = virtioMmioSsdt([{ address: 0xd0000000, size: 0x200, irq: 5 }]);

  it("has a header with the right length, revision, IDs and a checksum that sums the table to zero", () => {
    expect(ascii(one.subarray(0, 4))).toBe("SSDT");
    expect(u32(one, 4)).toBe(one.length);
    expect(one.length).toBe(104);
    expect(one[8]).toBe(2);
    expect(one.reduce((s, b) => (s + b) & 0xff, 0)).toBe(0);
    expect(ascii(one.subarray(10, 16))).toBe("V86VIO");
    expect(ascii(one.subarray(16, 24))).toBe("VIRTMMIO");
    expect(u32(one, 24)).toBe(1);
    expect(ascii(one.subarray(28, 32))).toBe("VMSI");
    expect(u32(one, 32)).toBe(1);
  });

  it("encodes Scope(\\_SB) { Device(VM00) { _HID, _UID, _CRS } } byte by byte", () => {
    const body = hex(`
      10 4304 5c 5f53425f                        # Scope, PkgLength 67 (two bytes), \\_SB_
        5b82 3a 564d3030                         # Device, PkgLength 58, VM00
          08 5f484944 0d 4c4e524f30303035 00     # Name(_HID, "LNRO0005")
          08 5f554944 00                         # Name(_UID, Zero)
          08 5f435253 11 1a 0a 17                # Name(_CRS, Buffer, PkgLength 26, size 23)
            86 0900 01 000000d0 00020000         # Memory32Fixed(ReadWrite, 0xD0000000, 0x200)
            89 0600 01 01 05000000               # Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) {5}
            79 00                                # End Tag
    `);
    expect([...one.subarray(ACPI_HEADER_SIZE)]).toEqual(body);
  });

  it("gives each device of a placement its window, line and _UID", () => {
    const t = virtioMmioAcpiTable({ count: 3, irqs: [5, 10, 16] });
    expect(u32(t, 4)).toBe(t.length);
    expect(t.reduce((s, b) => (s + b) & 0xff, 0)).toBe(0);
    const text = ascii(t);
    expect(text.match(/LNRO0005/g)).toHaveLength(3);
    for (const [i, address, irq] of [
      [0, 0xd0000000, 5],
      [1, 0xd0000200, 10],
      [2, 0xd0000400, 16],
    ] as const) {
      const at = text.indexOf(`VM0${i}`);
      expect(at).toBeGreaterThan(0);
      const device = [...t.subarray(at, text.indexOf(`VM0${i + 1}`) > 0 ? text.indexOf(`VM0${i + 1}`) : t.length)];
      const uid = i === 0 ? [0x00] : i === 1 ? [0x01] : [0x0a, 0x02];
      expect(ascii(device)).toContain(ascii([0x08, ...nameSeg("_UID"), ...uid]));
      expect(ascii(device)).toContain(ascii(memory32Fixed(true, address, 0x200)));
      expect(ascii(device)).toContain(ascii(extendedInterrupt(INTERRUPT_FLAG.CONSUMER, [irq])));
    }
    // The default four: one device more, the same shape.
    expect(virtioMmioAcpiTable({ count: 4 }).length).toBeGreaterThan(t.length);
    expect(() => virtioMmioAcpiTable({ count: 2, irqs: [5, 5] })).toThrow(/two devices/);
  });

  const iasl = (() => {
    try {
      execFileSync("iasl", ["-v"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(iasl)("disassembles with iasl to the ASL it was written from", () => {
    const dir = mkdtempSync(join(tmpdir(), "ssdt-"));
    try {
      writeFileSync(join(dir, "ssdt.aml"), virtioMmioAcpiTable({ count: 2 }));
      execFileSync("iasl", ["-d", join(dir, "ssdt.aml")], { stdio: "ignore" });
      const dsl = readFileSync(join(dir, "ssdt.dsl"), "utf8");
      expect(dsl).toMatch(/Name \(_HID, "LNRO0005"\)/);
      expect(dsl).toMatch(/Memory32Fixed \(ReadWrite,\s*0xD0000200,\s*0x00000200,?/);
      expect(dsl).toMatch(/Interrupt \(ResourceConsumer, Level, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x0000000A,?\s*\}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
