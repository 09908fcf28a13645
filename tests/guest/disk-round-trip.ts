// A 2 MiB file of known content written through the filesystem on /mnt (the virtio-blk disk),
// synced, the page cache dropped, and read back from the device with its sha256 checked.
import { createHash } from "node:crypto";
import { expect } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import type { BootedGuest } from "../../src/node/boot.ts";
import { sh } from "./shell.ts";

const PATTERN = "virtio-mmio msi round trip\n";
const BYTES = 2 * 1024 * 1024;
const SHA256 = createHash("sha256")
  .update(Buffer.from(PATTERN.repeat(Math.ceil(BYTES / PATTERN.length))).subarray(0, BYTES))
  .digest("hex");

export async function diskRoundTrip(guest: Pick<BootedGuest, "console">, device: BlockDevice): Promise<void> {
  await sh(guest, `yes '${PATTERN.trimEnd()}' | head -c ${BYTES} > /mnt/rt && sync`);
  await sh(guest, "echo 3 > /proc/sys/vm/drop_caches");
  const before = device.counters.bytesRead;
  expect(await sh(guest, "sha256sum /mnt/rt")).toBe(`${SHA256}  /mnt/rt\n`);
  // It came back from the device, not from the page cache.
  expect(device.counters.bytesRead - before).toBeGreaterThanOrEqual(BYTES);
  await sh(guest, "rm /mnt/rt && sync");
}
