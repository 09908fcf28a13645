// Save two guests on one virtual switch in the middle of a TCP stream between them and of a
// copy onto each one's disk, restore both into fresh emulators with fresh devices on a fresh
// switch, and carry on, with MSI per queue and on the line: the stream completes with the
// sender's sha256, the copies read back byte-exact past the page cache, and /proc/interrupts
// keeps counting on the same interrupts for the disk and for the NIC's queues.
//
// Frames on the wire at the save: the switch delivers synchronously, so a frame is either in a
// NIC's backlog (saved with it), in a guest's RAM (saved by v86), or dropped because its
// receiver was already stopped or not yet restored. Ethernet is allowed to drop; TCP sends it
// again (docs/save-restore.md, "The network").
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { restoreFrom, saveMachine, type MachineSnapshot } from "../../src/machine/save-machine.ts";
import { bootGuest, bootInterrupts, type BootedGuest } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import type { MsiMode } from "../../src/firmware/guest-cmdline.ts";
import { interrupts, ofDevice, type IrqLine } from "./proc-interrupts.ts";
import { sh } from "./shell.ts";

const STATION = {
  a: { ip: "192.168.87.1", mac: "02:00:00:00:87:01" },
  b: { ip: "192.168.87.2", mac: "02:00:00:00:87:02" },
} as const;
type Name = keyof typeof STATION;
const PAYLOAD_MIB = 8;
const COPY_KIB = 4096;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One guest's devices, in slot order: the disk (virtio0) and the NIC (virtio1). */
function devices(name: Name, sw: VirtualSwitch, image: Uint8Array) {
  const blk = new BlockDevice({ backend: new MemoryBackend(image), name: `blk-${name}`, serial: `v86-msi-${name}` });
  const net = new NetDevice({ backend: sw.createPort(name), name: `net-${name}`, mac: STATION[name].mac });
  return { blk, net, image, list: [blk, net] };
}

const virtioIrqs = (lines: readonly IrqLine[]) => [...ofDevice(lines, "virtio0"), ...ofDevice(lines, "virtio1")];
const shape = (lines: readonly IrqLine[]) => lines.map((l) => [l.irq, l.chip, l.name]);

describe("save and restore two guests in the middle of network and disk I/O", () => {
  it.each(["queue", "line"] as MsiMode[])("%s: the stream and the copies complete after a restore", async (msiMode) => {
    const image = new Uint8Array(readFileSync(DEFAULT_GUEST.disk));
    const sw = new VirtualSwitch();
    const first = { a: devices("a", sw, image.slice()), b: devices("b", sw, image.slice()) };
    const boot = (name: Name, list: (BlockDevice | NetDevice)[], restore?: MachineSnapshot) =>
      bootGuest({
        devices: list,
        ...bootInterrupts(msiMode),
        append: `guest.ip=${STATION[name].ip}/24`,
        ...(restore ? { restore: restoreFrom({ v86State: restore.v86State, devices: JSON.parse(JSON.stringify(restore.devices)) as unknown }) } : {}),
      });
    const guests: BootedGuest[] = [];
    try {
      const [a, b] = await Promise.all([boot("a", first.a.list), boot("b", first.b.list)]);
      guests.push(a, b);
      const g = { a, b };
      await sh(a, `mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=${PAYLOAD_MIB} 2>/dev/null && httpd -p 80 -h /tmp/www`);
      const sent = (await sh(a, "sha256sum /tmp/www/blob", 120_000)).split(" ")[0]!;
      for (const n of ["a", "b"] as const) {
        await sh(g[n], `dd if=/dev/urandom of=/tmp/d bs=1k count=${COPY_KIB} 2>/dev/null; md5sum /tmp/d > /tmp/sums`);
      }
      const irqBefore = { a: virtioIrqs(await interrupts(a)), b: virtioIrqs(await interrupts(b)) };
      for (const n of ["a", "b"] as const) expect(irqBefore[n].length, `guest ${n}`).toBeGreaterThanOrEqual(2);

      // The stream from A to B, and on each a copy onto its disk, all in the background.
      const rx0 = first.b.net.counters.rxBytes;
      const wr0 = { a: first.a.blk.counters.bytesWritten, b: first.b.blk.counters.bytesWritten };
      await sh(b, `(wget -q -O - http://${STATION.a.ip}/blob | sha256sum > /tmp/recv; echo done > /tmp/got) > /dev/null 2>&1 &`);
      const until = async (what: string, ok: () => boolean) => {
        for (let i = 0; i < 120_000 && !ok(); i++) await sleep(1);
        expect(ok(), what).toBe(true);
      };
      // Once a good part of the stream went by, the copies start; the save comes once both
      // have begun their writeback.
      await until("1 MiB streamed", () => first.b.net.counters.rxBytes - rx0 >= 1 << 20);
      for (const n of ["a", "b"] as const) await sh(g[n], "(cp /tmp/d /mnt/d; sync; echo done > /tmp/copied) > /dev/null 2>&1 &");
      await until("both copies writing", () =>
        first.a.blk.counters.bytesWritten - wr0.a >= 256 * 1024 && first.b.blk.counters.bytesWritten - wr0.b >= 256 * 1024);
      const snaps = await Promise.all([saveMachine(a.machine), saveMachine(b.machine)]);
      const streamed = first.b.net.counters.rxBytes - rx0;
      const copied = { a: first.a.blk.counters.bytesWritten - wr0.a, b: first.b.blk.counters.bytesWritten - wr0.b };
      const disks = { a: first.a.image.slice(), b: first.b.image.slice() };
      await Promise.all(guests.splice(0).map((x) => x.shutdown()));
      console.log(`${msiMode}: saved with ${(streamed / 2 ** 20).toFixed(2)} of ${PAYLOAD_MIB} MiB streamed, ${copied.a} and ${copied.b} B of the copies written`);
      expect(streamed).toBeLessThan(PAYLOAD_MIB * 2 ** 20);
      // At least one copy was still being written back (the file alone is COPY_KIB; the
      // sender's, on the less busy guest, often finishes in one burst before the save).
      expect(Math.min(copied.a, copied.b)).toBeLessThan(COPY_KIB * 1024);

      // Fresh emulators, devices and switch; the disks are the bytes at the save.
      const sw2 = new VirtualSwitch();
      const next = { a: devices("a", sw2, disks.a), b: devices("b", sw2, disks.b) };
      const [a2, b2] = await Promise.all([boot("a", next.a.list, snaps[0]), boot("b", next.b.list, snaps[1])]);
      guests.push(a2, b2);
      const g2 = { a: a2, b: b2 };
      await sh(b2, "while [ ! -e /tmp/got ]; do sleep 1; done", 300_000);
      const got = (await sh(b2, "cat /tmp/recv")).split(" ")[0];
      expect(got).toBe(sent);
      console.log(`${msiMode}: after the restore, B received ${(next.b.net.counters.rxBytes / 2 ** 20).toFixed(2)} MiB, A sent ${(next.a.net.counters.txBytes / 2 ** 20).toFixed(2)} MiB`);
      expect(next.b.net.counters.rxBytes).toBeGreaterThan(0);

      for (const n of ["a", "b"] as const) {
        const x = g2[n];
        await sh(x, "while [ ! -e /tmp/copied ]; do sleep 1; done", 120_000);
        await sh(x, "echo 3 > /proc/sys/vm/drop_caches");
        expect(await sh(x, "cd /mnt && md5sum d"), `guest ${n}'s copy`).toBe((await sh(x, "cat /tmp/sums")).replaceAll("/tmp/", ""));
        const blk = next[n].blk.counters;
        expect(blk.completed, `guest ${n}: requests after the restore`).toBeGreaterThan(0);
        expect(blk.errors + blk.internalErrors).toBe(0);
        expect(next[n].net.counters).toMatchObject({ txDropBadHeader: 0, txDropTooBig: 0, rxDropTooBig: 0, internalErrors: 0 });

        const irqAfter = virtioIrqs(await interrupts(x));
        expect(shape(irqAfter), `guest ${n}'s interrupts`).toEqual(shape(irqBefore[n]));
        // The same interrupts counted on: none went back, and the disk's requests and the NIC's
        // receive queue (on the line, the two devices' lines) counted more.
        for (const [i, l] of irqAfter.entries()) expect(l.count, `guest ${n}: ${l.name}`).toBeGreaterThanOrEqual(irqBefore[n][i]!.count);
        const busy = msiMode === "line" ? ["virtio0", "virtio1"] : ["virtio0-req.0", "virtio1-input.0"];
        for (const name of busy) {
          const count = (ls: readonly IrqLine[]) => ls.find((l) => l.name === name)?.count ?? -1;
          expect(count(irqAfter), `guest ${n}: ${name}`).toBeGreaterThan(count(irqBefore[n]));
        }
        expect(x.machine.faults).toEqual([]);
      }
    } finally {
      await Promise.all(guests.map((x) => x.shutdown()));
    }
  }, 900_000);
});
