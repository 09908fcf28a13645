// Host-side micro-benchmark of the device hot paths, no guest: the real MmioTransport,
// SplitQueue, RamMemory and BlockDevice / NetDevice driven through their registers by a
// minimal driver that re-publishes pre-built chains (so the driver side allocates nothing and
// costs almost nothing). Reports ns per request and bytes allocated per request.
//   node --expose-gc --import tsx bench/hot-path.ts [--ops N]
//   (npm run bench:hot)  add --cpu-prof to see where the time goes
//
// Allocation: heap growth over short windows in which no scavenge ran (see allocation()).

import { parseArgs } from "node:util";
import { BlockDevice } from "../src/devices/blk/device.ts";
import { MemoryBackend } from "../src/devices/blk/memory-backend.ts";
import { BLK_T } from "../src/devices/blk/constants.ts";
import { NetDevice } from "../src/devices/net/device.ts";
import type { NetBackend } from "../src/devices/net/backend.ts";
import { VIRTQ_DESC_F } from "../src/virtio/constants.ts";
import { TestDriver, type DriverQueue } from "../src/testing/test-driver.ts";

const { values: args } = parseArgs({
  options: { ops: { type: "string", default: "200000" }, json: { type: "boolean", default: false }, only: { type: "string", default: "" } },
});
const OPS = Number(args.ops);
const gc = (globalThis as { gc?: () => void }).gc;

/** Pre-built chains on one queue, re-published by head; the used ring is consumed by index only. */
class Ring {
  #availIdx = 0;
  constructor(readonly d: TestDriver, readonly q: DriverQueue) {}
  /** Chain of descriptors starting at `head` (slots head..head+n-1). */
  chain(head: number, bufs: { addr: number; len: number; write: boolean }[]): void {
    bufs.forEach((b, i) => {
      const last = i === bufs.length - 1;
      this.d.writeDesc(this.q.desc, head + i, {
        addr: b.addr,
        len: b.len,
        flags: (b.write ? VIRTQ_DESC_F.WRITE : 0) | (last ? 0 : VIRTQ_DESC_F.NEXT),
        next: last ? 0 : head + i + 1,
      });
    });
  }
  publish(head: number): void {
    const ram = this.d.ram;
    const slot = this.q.avail + 4 + 2 * (this.#availIdx & (this.q.size - 1));
    ram[slot] = head;
    ram[slot + 1] = head >>> 8;
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
    ram[this.q.avail + 2] = this.#availIdx;
    ram[this.q.avail + 3] = this.#availIdx >>> 8;
  }
}

interface Case {
  name: string;
  /** One request (or batch) of the workload; returns requests done. */
  step(): number;
}

/**
 * Bytes allocated per request: heap growth over short windows, keeping only windows in which no
 * scavenge ran (the heap did not shrink), minus what reading the heap size itself allocates.
 */
function allocation(c: Case): number {
  const heap = () => process.memoryUsage().heapUsed;
  let idle = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 50; k++) {
    const h0 = heap();
    const h1 = heap();
    if (h1 >= h0) idle = Math.min(idle, h1 - h0);
  }
  let bytes = 0;
  let requests = 0;
  for (let k = 0; k < 200; k++) {
    const h0 = heap();
    let n = 0;
    while (n < 64) n += c.step();
    const h1 = heap();
    if (h1 < h0) continue; // a scavenge ran inside the window
    bytes += h1 - h0 - idle;
    requests += n;
  }
  return requests ? Math.max(0, bytes / requests) : Number.NaN;
}

function measure(c: Case): { name: string; nsPerRequest: number; bytesPerRequest: number } {
  // Warm up (JIT), then time.
  for (let i = 0; i < Math.min(OPS, 20000); ) i += c.step();
  gc?.();
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (n < OPS) n += c.step();
  const ns = Number(process.hrtime.bigint() - t0);
  return { name: c.name, nsPerRequest: ns / n, bytesPerRequest: allocation(c) };
}

function blkCase(name: string, dataLen: number, batch: number, msi: boolean): Case {
  const dev = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(16 << 20)), name: "blk0" });
  const d = new TestDriver({ device: dev, ramSize: 8 << 20, ...(msi ? { msi: { layout: "v3" } } : {}) });
  if (!d.init(msi ? { msi: "per-queue" } : {}).ok) throw new Error("init failed");
  const q = d.queues[0]!;
  const ring = new Ring(d, q);
  const heads: number[] = [];
  for (let k = 0; k < batch; k++) {
    const hdr = d.alloc(16);
    d.setU32(hdr, BLK_T.IN);
    d.setU32(hdr + 8, (k * 8 * 97) % 30000);
    const data = d.alloc(dataLen, 4096);
    const status = d.alloc(1);
    ring.chain(3 * k, [
      { addr: hdr, len: 16, write: false },
      { addr: data, len: dataLen, write: true },
      { addr: status, len: 1, write: true },
    ]);
    heads.push(3 * k);
  }
  return {
    name,
    step() {
      for (const h of heads) ring.publish(h);
      d.write32("QueueNotify", 0);
      d.runTasks();
      // The line path: what Linux's vm_interrupt does per interrupt.
      if (!msi) d.write32("InterruptACK", d.read32("InterruptStatus"));
      d.msiWrites.length = 0;
      d.lineEvents.length = 0;
      return batch;
    },
  };
}

function netTxCase(): Case {
  const sink: NetBackend = { name: "sink", send() {}, onReceive() {}, close() {} };
  const dev = new NetDevice({ backend: sink, name: "net0" });
  const d = new TestDriver({ device: dev, ramSize: 8 << 20 });
  if (!d.init().ok) throw new Error("init failed");
  const tx = d.queues[1]!;
  const ring = new Ring(d, tx);
  const buf = d.alloc(12 + 1514);
  d.ram.fill(0x5a, buf, buf + 12 + 1514);
  d.ram.fill(0, buf, buf + 12);
  ring.chain(0, [{ addr: buf, len: 12 + 1514, write: false }]);
  return {
    name: "net tx, 1514-byte frame, 1 per notify",
    step() {
      ring.publish(0);
      d.write32("QueueNotify", 1);
      d.runTasks();
      return 1;
    },
  };
}

function netRxCase(): Case {
  let deliver: (frame: Uint8Array) => void = () => {};
  const src: NetBackend = { name: "src", send() {}, onReceive(cb) { deliver = cb; }, close() {} };
  const dev = new NetDevice({ backend: src, name: "net0" });
  const d = new TestDriver({ device: dev, ramSize: 8 << 20 });
  if (!d.init().ok) throw new Error("init failed");
  d.write32("Status", d.read32("Status")); // already DRIVER_OK
  const rx = d.queues[0]!;
  const ring = new Ring(d, rx);
  const buf = d.alloc(12 + 1514);
  ring.chain(0, [{ addr: buf, len: 12 + 1514, write: true }]);
  const frame = new Uint8Array(1514).fill(0x33);
  frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0); // broadcast: passes the filter
  return {
    name: "net rx, 1514-byte frame, 1 buffer posted per frame",
    step() {
      ring.publish(0);
      d.write32("QueueNotify", 0);
      d.runTasks();
      deliver(frame);
      d.runTasks();
      return 1;
    },
  };
}

function mmioCase(): Case {
  const dev = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(1 << 20)), name: "blk0" });
  const d = new TestDriver({ device: dev });
  d.init();
  return {
    name: "MMIO dispatch: InterruptStatus read + QueueSel write (transport)",
    step() {
      for (let i = 0; i < 100; i++) {
        d.transport.read(0x60, 4);
        d.transport.write(0x30, 4, 0);
      }
      return 100;
    },
  };
}

const cases = [
  blkCase("blk read 4 KiB, QD1, MSI", 4096, 1, true),
  blkCase("blk read 4 KiB, QD1, line", 4096, 1, false),
  blkCase("blk read 4 KiB, 16 per notify, MSI", 4096, 16, true),
  blkCase("blk read 64 KiB, 1 per notify, MSI", 65536, 1, true),
  netTxCase(),
  netRxCase(),
  mmioCase(),
];
// --only TEXT: just the cases whose name contains TEXT (cases are built up front but cost nothing idle).
const results = cases.filter((c) => c.name.includes(args.only!)).map(measure);
if (args.json) console.log(JSON.stringify(results, null, 2));
else for (const r of results) console.log(`${r.name.padEnd(66)} ${r.nsPerRequest.toFixed(0).padStart(7)} ns  ${r.bytesPerRequest.toFixed(0).padStart(6)} B allocated / request`);
