// Save a running guest with our disk in the middle of its writeback, restore it into a fresh
// emulator with fresh devices (v86's state, our devices' states through JSON, a copy of the
// disk's bytes) and carry on, in each interrupt mode: the data written before, across and after
// the save reads back byte-exact past the page cache, and /proc/interrupts keeps counting on
// the same interrupts. The restore must also be much faster than the boot.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { restoreFrom, saveMachine } from "../../src/machine/save-machine.ts";
import { bootGuest, bootInterrupts } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import type { MsiMode } from "../../src/firmware/guest-cmdline.ts";
import { interrupts, ofDevice } from "./proc-interrupts.ts";
import { sh } from "./shell.ts";

const disk = (bytes: Uint8Array) => new BlockDevice({ backend: new MemoryBackend(bytes), name: "blk0", serial: "v86-msi-disk0" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("save and restore a running guest", () => {
  it.each(["queue", "table", "line"] as MsiMode[])("%s: data and interrupts carry on in a fresh emulator", async (msiMode) => {
    const image = new Uint8Array(readFileSync(DEFAULT_GUEST.disk));
    const firstDisk = disk(image);
    const first = await bootGuest({ devices: [firstDisk], ...bootInterrupts(msiMode) });
    let restored: Awaited<ReturnType<typeof bootGuest>> | undefined;
    try {
      await sh(first, "dd if=/dev/urandom of=/tmp/a bs=1k count=512 2>/dev/null; dd if=/dev/urandom of=/tmp/b bs=1k count=2048 2>/dev/null; md5sum /tmp/a /tmp/b > /tmp/sums; cp /tmp/a /mnt/a; sync");
      const irqBefore = ofDevice(await interrupts(first), "virtio0");
      expect(irqBefore.length).toBeGreaterThan(0);
      // A copy that is still writing when the machine stops.
      const written = firstDisk.counters.bytesWritten;
      await sh(first, "(cp /tmp/b /mnt/b; sync; echo done > /tmp/copied) > /dev/null 2>&1 &");
      // Save once the writeback of the copy has begun: the rest of it happens after the restore.
      for (let i = 0; i < 20_000 && firstDisk.counters.bytesWritten - written < 256 * 1024; i++) await sleep(1);
      expect(firstDisk.counters.bytesWritten - written).toBeGreaterThanOrEqual(256 * 1024);
      const { v86State, devices } = await saveMachine(first.machine);
      const json = JSON.stringify(devices);
      const bytes = image.slice();
      await first.shutdown();

      const started = performance.now();
      const dev = disk(bytes);
      restored = await bootGuest({
        devices: [dev],
        ...bootInterrupts(msiMode),
        restore: restoreFrom({ v86State, devices: JSON.parse(json) as unknown }),
      });
      const restoreMs = performance.now() - started;
      console.log(`${msiMode}: boot ${(first.bootMs / 1000).toFixed(1)} s, restore ${(restoreMs / 1000).toFixed(2)} s, v86 state ${(v86State.byteLength / 2 ** 20).toFixed(1)} MiB, ours ${json.length} B`);
      expect(restoreMs).toBeLessThan(first.bootMs / 4);

      await sh(restored, "while [ ! -e /tmp/copied ]; do sleep 1; done");
      console.log(`${msiMode}: ${firstDisk.counters.bytesWritten - written} B of the copy written before the save, ${dev.counters.bytesWritten} B after`);
      expect(dev.counters.bytesWritten).toBeGreaterThan(0);
      await sh(restored, "dd if=/dev/urandom of=/tmp/c bs=1k count=256 2>/dev/null; md5sum /tmp/c >> /tmp/sums; cp /tmp/c /mnt/c; sync");
      // Past the page cache: the bytes come from the restored disk through the restored device.
      await sh(restored, "echo 3 > /proc/sys/vm/drop_caches");
      const sums = await sh(restored, "cd /mnt && md5sum a b c");
      const expected = (await sh(restored, "cat /tmp/sums")).replaceAll("/tmp/", "");
      expect(sums).toBe(expected);
      expect(dev.counters.completed).toBeGreaterThan(0);
      expect(dev.counters.errors + dev.counters.internalErrors).toBe(0);

      const irqAfter = ofDevice(await interrupts(restored), "virtio0");
      expect(irqAfter.map((l) => [l.irq, l.chip, l.name])).toEqual(irqBefore.map((l) => [l.irq, l.chip, l.name]));
      const total = (ls: typeof irqBefore) => ls.reduce((n, l) => n + l.count, 0);
      expect(total(irqAfter)).toBeGreaterThan(total(irqBefore));
      expect(restored.machine.faults).toEqual([]);
    } finally {
      await first.shutdown();
      await restored?.shutdown();
    }
  });
});
