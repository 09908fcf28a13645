// Disk images for the guest tests, made on the host with e2fsprogs (mke2fs).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDisk {
  path: string;
  remove(): void;
}

/** A `totalMiB` image whose first `fsMiB` hold an empty ext2 filesystem; the rest is raw space. */
export function makeExt2Disk(totalMiB: number, fsMiB: number): TempDisk {
  const dir = mkdtempSync(join(tmpdir(), "v86-msi-disk-"));
  const path = join(dir, "disk.img");
  writeFileSync(path, "");
  truncateSync(path, totalMiB * 1024 * 1024);
  execFileSync("mke2fs", ["-q", "-F", "-t", "ext2", "-b", "4096", path, `${fsMiB}M`], { stdio: "pipe" });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
