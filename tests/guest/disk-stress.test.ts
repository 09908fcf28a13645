// Disk integrity and interrupt delivery under sustained load, with MSI and with the line: the
// image's `disk-stress` runs writers and readers in parallel on a 64 MiB ext2 disk, every file
// checked by sha256, then `e2fsck -n -f` must find the filesystem clean.
//
// The watchdog: every operation in the guest prints a heartbeat ("ok <worker> <n> <cs>") as it
// completes. A completion the guest never hears of (a lost MSI or line interrupt) leaves its
// request waiting forever, so its worker falls silent: the watchdog fails the test as soon as any
// worker has been silent for longer than WATCHDOG_MS, and the guest's own per-operation times
// must stay under the same bound.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { FileBackend } from "../../src/node/file-backend.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { makeExt2Disk, type TempDisk } from "./disk-image.ts";
import { hostMaskQueue } from "./host-mask.ts";
import { sh } from "./shell.ts";
import { n, recordFigure } from "../reliability/record.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOAD_SECONDS = Number(process.env.DISK_STRESS_SECONDS ?? 40);
const WATCHDOG_MS = 20_000;

/** Watches the serial console for heartbeats; `check()` throws if a worker went silent. */
class HeartbeatWatchdog {
  readonly lastBeat = new Map<string, number>();
  maxOpCs = 0;
  beats = 0;
  #partial = "";
  #stop: () => void;
  #timer: ReturnType<typeof setInterval>;
  stalled: string | null = null;

  constructor(guest: BootedGuest, readonly boundMs = WATCHDOG_MS) {
    this.#stop = guest.machine.onSerial((text) => this.#feed(text));
    this.#timer = setInterval(() => this.#check(), 1000);
  }

  #feed(text: string): void {
    const lines = (this.#partial + text).split(/\r?\n/);
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^ok (\w+) (\d+) (\d+)$/.exec(line.trim());
      if (!m) continue;
      this.lastBeat.set(m[1]!, performance.now());
      this.maxOpCs = Math.max(this.maxOpCs, Number(m[3]));
      this.beats++;
    }
  }

  #check(): void {
    const now = performance.now();
    for (const [worker, at] of this.lastBeat) {
      if (now - at > this.boundMs && this.stalled === null) this.stalled = `${worker} silent for ${Math.round(now - at)} ms`;
    }
  }

  /** Called when the run is over: the workers have stopped on purpose. */
  stop(): void {
    this.#check();
    clearInterval(this.#timer);
    this.#stop();
  }
}

for (const msi of [true, false]) {
  describe(`disk-stress with ${msi ? "MSI" : "the interrupt line"}`, () => {
    let guest: BootedGuest;
    let disk: TempDisk;
    let device: BlockDevice;

    beforeAll(async () => {
      disk = makeExt2Disk(64, 64);
      device = new BlockDevice({ backend: new FileBackend(disk.path), name: "blk0" });
      guest = await bootGuest({ devices: [device], msi });
    }, 120_000);
    afterAll(async () => {
      await guest?.shutdown();
      disk?.remove();
    });

    it(`${LOAD_SECONDS} s of parallel writers and readers: no mismatch, no stalled request`, async () => {
      const watchdog = new HeartbeatWatchdog(guest);
      let out: string;
      try {
        out = await sh(guest, `disk-stress -t ${LOAD_SECONDS} -w 2 -r 2`, (LOAD_SECONDS + 120) * 1000);
      } finally {
        watchdog.stop();
      }
      const m = /disk-stress: (\d+) files written \((\d+) KiB\), (\d+) reads checked, (\d+) files checked at the end, (\d+) mismatches/.exec(out);
      expect(m, out).not.toBeNull();
      const [, written, kib, reads, , mismatches] = m!.map(Number);
      console.log(
        `disk-stress (${msi ? "MSI" : "line"}): ${written} files, ${(kib! / 1024).toFixed(1)} MiB written and verified, ` +
          `${reads} reads checked, ${watchdog.beats} heartbeats, slowest operation ${watchdog.maxOpCs * 10} ms, ` +
          `device: ${device.counters.requests} requests, ${device.counters.errors} errors`,
      );
      // Every worker was heard from, and none fell silent.
      expect([...watchdog.lastBeat.keys()].sort()).toEqual(["r1", "r2", "w1", "w2"]);
      expect(watchdog.stalled).toBeNull();
      expect(watchdog.maxOpCs * 10).toBeLessThan(WATCHDOG_MS);
      expect(written).toBeGreaterThan(4);
      expect(reads).toBeGreaterThan(4);
      expect(mismatches).toBe(0);
      expect(device.counters.errors).toBe(0);
      // Interrupts went the way the mode says.
      const irqs = await sh(guest, "grep virtio0 /proc/interrupts");
      expect(irqs).toMatch(msi ? /virtio-mmio-virtio-mmio\.\d.*virtio0-req\.0/ : /IO-APIC.*virtio0/);
      recordFigure(
        `disk-stress-${msi ? "msi" : "line"}`,
        `${msi ? "MSI" : "line"}: ${written} files, ${(kib! / 1024).toFixed(0)} MiB written and verified, ${n(reads!)} reads checked, ` +
          `${n(device.counters.requests)} requests, ${mismatches} mismatches, ${device.counters.errors} device errors, slowest operation ` +
          `${(watchdog.maxOpCs / 100).toFixed(2)} s, ${n(watchdog.beats)} heartbeats`,
      );
    }, (LOAD_SECONDS + 180) * 1000);

    if (msi) {
      it("the watchdog catches a held completion: the queue's MSI masked from the host for 8 s", async () => {
        const t = guest.machine.devices[0]!.transport;
        const watchdog = new HeartbeatWatchdog(guest, 5_000);
        const run = guest.console.exec("disk-stress -t 20 -w 2 -r 2", 120_000);
        try {
          await sleep(4_000);
          hostMaskQueue(t, 0, true);
          await sleep(8_000);
        } finally {
          hostMaskQueue(t, 0, false);
        }
        const r = await run;
        watchdog.stop();
        expect(watchdog.stalled).not.toBeNull();
        // Held, not lost: after UNMASK everything completed and matched.
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(/ 0 mismatches/);
        recordFigure("disk-stress-held", `the watchdog saw ${watchdog.stalled} while the queue's MSI was masked; after UNMASK the run completed with 0 mismatches`);
      }, 180_000);
    }

    it("e2fsck finds the filesystem clean afterwards", async () => {
      await sh(guest, "umount /mnt");
      const fsck = await guest.console.exec("e2fsck -n -f /dev/vda 2>&1", 120_000);
      expect(fsck.status, fsck.output).toBe(0);
      expect(fsck.output).toMatch(/Pass 5: Checking group summary information/);
    }, 180_000);
  });
}
