import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileBackend } from "./file-backend.ts";

const dirs: string[] = [];
function tempImage(bytes: Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blk-"));
  dirs.push(dir);
  const file = path.join(dir, "disk.img");
  fs.writeFileSync(file, bytes);
  return file;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("FileBackend", () => {
  it("reads, writes, zeroes and flushes a file", () => {
    const bytes = new Uint8Array(8192).map((_, i) => i & 0xff);
    const file = tempImage(bytes);
    const b = new FileBackend(file);
    expect(b.size).toBe(8192);
    const dest = new Uint8Array(4);
    b.read(1000, dest);
    expect([...dest]).toEqual([232, 233, 234, 235]);
    b.write(0, Uint8Array.of(9, 9, 9));
    b.writeZeroes(4096, 100);
    b.discard(0, 512); // leaves bytes alone
    b.flush();
    b.close();
    const now = fs.readFileSync(file);
    expect([...now.subarray(0, 4)]).toEqual([9, 9, 9, 3]);
    expect(now.subarray(4096, 4196).every((x) => x === 0)).toBe(true);
    expect(now[4196]).toBe(bytes[4196]);
    expect(() => b.read(0, dest)).toThrow(/closed/);
  });

  it("read-only mode refuses writes; ranges are checked", () => {
    const file = tempImage(new Uint8Array(1024));
    const b = new FileBackend(file, { readOnly: true });
    expect(b.readOnly).toBe(true);
    expect(() => b.write(0, new Uint8Array(1))).toThrow(/read-only/);
    expect(() => b.writeZeroes(0, 1)).toThrow(/read-only/);
    expect(() => b.read(1020, new Uint8Array(8))).toThrow(RangeError);
    b.flush(); // nothing to sync, no error
    b.close();
  });
});
