// Our virtio-blk under the unmodified-protocol Linux virtio_blk driver: data round-trips
// exactly through the filesystem and to the backing file, discard works, read-only refuses.
import { createHash } from "node:crypto";
import { openSync, readSync, closeSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import { makeExt2Disk, type TempDisk } from "./disk-image.ts";
import { sh } from "./shell.ts";

const MiB = 1024 * 1024;

function hostSha256(path: string, offset: number, length: number): string {
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  closeSync(fd);
  return createHash("sha256").update(buf).digest("hex");
}


describe("virtio-blk, read-write, on a 64 MiB file", () => {
  let disk: TempDisk;
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    disk = makeExt2Disk(64, 32);
    const devices = await createDevices({ disk: disk.path });
    device = devices[0] as BlockDevice;
    guest = await bootGuest({ devices, memoryMB: 160 });
  });
  afterAll(async () => {
    await guest?.shutdown();
    disk?.remove();
  });

  it("mounts the ext2 disk read-write", async () => {
    expect(await sh(guest, "grep ' /mnt ' /proc/mounts")).toMatch(/^\/dev\/vda \/mnt ext2 rw/);
  });

  it("round-trips 16 MB of random data through the filesystem, past the page cache", async () => {
    const written = await sh(guest, "dd if=/dev/urandom of=/mnt/random bs=1M count=16 2>/dev/null && sha256sum /mnt/random");
    await sh(guest, "sync && echo 3 > /proc/sys/vm/drop_caches");
    const before = device.counters.bytesRead;
    const read = await sh(guest, "sha256sum /mnt/random");
    expect(read).toBe(written);
    expect(read).toMatch(/^[0-9a-f]{64}  \/mnt\/random\n$/);
    // The second checksum came from the disk, not from memory.
    expect(device.counters.bytesRead - before).toBeGreaterThanOrEqual(16 * MiB);
  });

  it("writes raw sectors that land byte-exact in the backing file", async () => {
    const out = await sh(
      guest,
      "dd if=/dev/urandom of=/tmp/r bs=1M count=4 2>/dev/null && dd if=/tmp/r of=/dev/vda bs=1M seek=40 conv=fsync 2>/dev/null && sha256sum /tmp/r",
    );
    const guestSum = out.split(" ")[0];
    expect(hostSha256(disk.path, 40 * MiB, 4 * MiB)).toBe(guestSum);
  });

  it("discards a range with blkdiscard", async () => {
    const before = device.counters.reqDiscard;
    // blkdiscard opens the device exclusively: not while it is mounted.
    await sh(guest, "umount /mnt && blkdiscard -o 48M -l 8M /dev/vda && mount -t ext2 /dev/vda /mnt");
    expect(device.counters.reqDiscard).toBeGreaterThan(before);
    expect(await sh(guest, "sha256sum /mnt/random | cut -c1-8")).toMatch(/^[0-9a-f]{8}\n$/);
  });

  it("logged no block-layer or virtio error", async () => {
    const { output } = await guest.console.exec("dmesg | grep -i -E 'I/O error|blk_update|virtio.*(error|fail)|EXT2-fs error'", 10_000);
    expect(output).toBe("");
    expect(device.counters.errors).toBe(0);
  });
});

describe("virtio-blk, read-only", () => {
  let disk: TempDisk;
  let guest: BootedGuest;
  beforeAll(async () => {
    disk = makeExt2Disk(16, 16);
    guest = await bootGuest({ devices: await createDevices({ disk: disk.path, "disk-ro": true }) });
  });
  afterAll(async () => {
    await guest?.shutdown();
    disk?.remove();
  });

  it("is mounted read-only and refuses writes as Linux reports them", async () => {
    expect(await sh(guest, "grep ' /mnt ' /proc/mounts")).toMatch(/^\/dev\/vda \/mnt ext2 ro/);
    expect(await sh(guest, "cat /sys/block/vda/ro")).toBe("1\n");
    const create = await guest.console.exec("echo x > /mnt/x", 10_000);
    expect(create.status).not.toBe(0);
    expect(create.output).toMatch(/Read-only file system/);
    const dd = await guest.console.exec("dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync", 10_000);
    expect(dd.status).not.toBe(0);
    expect(dd.output).toMatch(/Operation not permitted|Read-only file system|I\/O error/);
  });
});
