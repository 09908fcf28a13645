// The early cpio that carries the SSDT: read back by our reader and by GNU cpio when installed,
// and found by initrdAcpiTables in front of an initrd, as Linux's table upgrade finds it.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { acpiTableCpio, initrdAcpiTables, prependAcpiTable } from "./acpi-initrd.ts";
import { virtioMmioAcpiTable } from "./acpi-ssdt.ts";
import { newcArchive, readNewc, S_IFDIR, S_IFREG } from "./cpio-newc.ts";

const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);
const table = virtioMmioAcpiTable({ count: 2 });

describe("newc cpio", () => {
  it("writes headers, names and data padded to 4 and a trailer; reads them back", () => {
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    const archive = newcArchive([
      { name: "d", mode: S_IFDIR | 0o755 },
      { name: "d/f", mode: S_IFREG | 0o644, data },
    ]);
    expect(archive.length % 4).toBe(0);
    // The first header field by field: magic, ino 1, mode 040755, uid, gid, nlink 2, mtime,
    // size 0, dev/rdev 0, namesize 2 ("d" and its NUL), check 0.
    expect(ascii(archive.subarray(0, 110))).toBe(
      "070701" + ["1", "41ED", "0", "0", "2", "0", "0", "0", "0", "0", "0", "2", "0"].map((f) => f.padStart(8, "0")).join(""),
    );
    expect([...archive.subarray(110, 112)]).toEqual([0x64, 0]); // "d\0": 112 is a multiple of 4
    const second = 112;
    expect(ascii(archive.subarray(second + 54, second + 62))).toBe("00000005"); // filesize
    expect(ascii(archive.subarray(second + 110, second + 114))).toBe("d/f\0"); // 110 + 4 = 114, padded to 116
    expect([...archive.subarray(second + 116, second + 121)]).toEqual([1, 2, 3, 4, 5]);
    expect([...archive.subarray(second + 121, second + 124)]).toEqual([0, 0, 0]);
    expect(ascii(archive.subarray(second + 124 + 110, second + 124 + 121))).toBe("TRAILER!!!\0");
    const back = readNewc(archive);
    expect(back.end).toBe(archive.length);
    expect(back.entries.map((e) => [e.name, e.mode, [...e.data]])).toEqual([
      ["d", S_IFDIR | 0o755, []],
      ["d/f", S_IFREG | 0o644, [1, 2, 3, 4, 5]],
    ]);
  });

  it("refuses names that leave the archive and reads nothing from a truncated one", () => {
    expect(() => newcArchive([{ name: "/etc/x", mode: S_IFREG | 0o644 }])).toThrow(/relative path/);
    expect(() => newcArchive([{ name: "a/../../x", mode: S_IFREG | 0o644 }])).toThrow(/relative path/);
    const archive = newcArchive([{ name: "f", mode: S_IFREG | 0o644, data: new Uint8Array(100) }]);
    expect(() => readNewc(archive.subarray(0, 150))).toThrow(/runs past the end/);
    expect(() => readNewc(new Uint8Array(200))).toThrow(/no newc magic/);
  });

  const gnuCpio = (() => {
    try {
      execFileSync("cpio", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(gnuCpio)("GNU cpio lists the ACPI archive as Linux's documentation builds it", () => {
    const listing = execFileSync("cpio", ["-it", "--quiet"], { input: acpiTableCpio(table) }).toString();
    expect(listing.split("\n").filter(Boolean)).toEqual(["kernel", "kernel/firmware", "kernel/firmware/acpi", "kernel/firmware/acpi/virtio-mmio.aml"]);
    const content = execFileSync("cpio", ["-i", "--quiet", "--to-stdout", "kernel/firmware/acpi/virtio-mmio.aml"], { input: acpiTableCpio(table) });
    expect(Buffer.compare(content, Buffer.from(table))).toBe(0);
  });
});

describe("prependAcpiTable", () => {
  it("puts the table at kernel/firmware/acpi/virtio-mmio.aml in front of the user's initrd, which follows unchanged", () => {
    const user = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 9, 9, 9]); // a gzip stream's start
    const initrd = prependAcpiTable(table, user);
    const archive = readNewc(initrd);
    expect(archive.end % 4).toBe(0);
    expect(archive.entries.map((e) => e.name)).toEqual(["kernel", "kernel/firmware", "kernel/firmware/acpi", "kernel/firmware/acpi/virtio-mmio.aml"]);
    expect([...archive.entries[3]!.data]).toEqual([...table]);
    expect([...initrd.subarray(archive.end)]).toEqual([...user]);
    expect(initrdAcpiTables(initrd)).toEqual([{ name: "kernel/firmware/acpi/virtio-mmio.aml", table: archive.entries[3]!.data }]);
  });

  it("initrdAcpiTables goes through several archives and zero padding, and stops at the first non-archive", () => {
    const other = newcArchive([{ name: "kernel/firmware/acpi/b.aml", mode: S_IFREG | 0o644, data: new Uint8Array([7]) }]);
    const late = acpiTableCpio(new Uint8Array([8]), "late.aml");
    const initrd = new Uint8Array([...acpiTableCpio(table), 0, 0, 0, 0, ...other, 0x1f, 0x8b, 0, 0, ...late]);
    expect(initrdAcpiTables(initrd).map((t) => t.name)).toEqual(["kernel/firmware/acpi/virtio-mmio.aml", "kernel/firmware/acpi/b.aml"]);
    expect(initrdAcpiTables(new Uint8Array([0x1f, 0x8b, ...acpiTableCpio(table)]))).toEqual([]);
    expect(() => acpiTableCpio(table, "../x.aml")).toThrow(/plain file name/);
  });
});
