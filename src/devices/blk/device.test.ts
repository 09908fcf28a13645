// The block device driven end to end through the real MmioTransport, SplitQueue and RamMemory
// by the driver-side TestDriver.

import { describe, expect, it } from "vitest";
import { REG } from "../../virtio/constants.ts";
import { TestDriver, type AddedChain } from "../../testing/test-driver.ts";
import type { BlockBackend } from "./backend.ts";
import { BLK_CFG, BLK_F, BLK_S, BLK_T, RING_F, bit } from "./constants.ts";
import { BlockDevice, type BlockDeviceOptions } from "./device.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const DISK = 1024 * 1024;
const pattern = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + (i >> 9)) & 0xff);

function setup(o: Partial<BlockDeviceOptions> = {}) {
  const image = pattern(DISK);
  const memory = new MemoryBackend(image);
  const backend: BlockBackend = o.backend ?? memory;
  const dev = new BlockDevice({ serial: "serial-0123456789-xyz", ...o, backend });
  const d = new TestDriver({ device: dev });
  expect(d.init().ok).toBe(true);
  return { dev, d, image };
}

function segment(sector: number, sectors: number, flags = 0): Uint8Array {
  const s = new Uint8Array(16);
  const dv = new DataView(s.buffer);
  dv.setBigUint64(0, BigInt(sector), true);
  dv.setUint32(8, sectors, true);
  dv.setUint32(12, flags, true);
  return s;
}

/** Linux's layout: header, data, status byte, each its own descriptor. */
function submit(d: TestDriver, type: number, sector: number | bigint, o: { out?: Uint8Array; inLen?: number; indirect?: boolean; queue?: number } = {}): AddedChain {
  const readable = [requestHeader(type, sector), ...(o.out ? [o.out] : [])];
  const writable = [...(o.inLen ? [o.inLen] : []), 1];
  return d.addChain(o.queue ?? 0, { readable, writable }, { indirect: o.indirect ?? false });
}

function status(d: TestDriver, c: AddedChain): number {
  const last = c.writable[c.writable.length - 1]!;
  return d.read(last.addr + last.len - 1, 1)[0]!;
}

/** Lets every pending promise callback run, then the transport's scheduled tasks. */
async function settle(d: TestDriver): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  d.runTasks();
}

describe("BlockDevice: identity", () => {
  it("offers its features and a config space the driver can read", () => {
    const { dev, d } = setup({ numQueues: 2 });
    const offered = d.offeredFeatures();
    for (const f of [BLK_F.SIZE_MAX, BLK_F.SEG_MAX, BLK_F.BLK_SIZE, BLK_F.FLUSH, BLK_F.TOPOLOGY, BLK_F.DISCARD, BLK_F.WRITE_ZEROES, BLK_F.MQ, RING_F.INDIRECT_DESC, RING_F.EVENT_IDX]) {
      expect(offered & bit(f)).toBe(bit(f));
    }
    expect(offered & bit(BLK_F.RO)).toBe(0n);
    expect(dev.deviceId).toBe(2);
    expect(d.read32("DeviceID")).toBe(2);
    const cfg = (off: number) => d.read32(REG.Config + off);
    expect(cfg(BLK_CFG.CAPACITY)).toBe(DISK / 512);
    expect(cfg(BLK_CFG.CAPACITY + 4)).toBe(0);
    expect(cfg(BLK_CFG.SEG_MAX)).toBe(254);
    expect(cfg(BLK_CFG.SIZE_MAX)).toBe(65536);
    expect(cfg(BLK_CFG.BLK_SIZE)).toBe(512);
    expect(dev.readConfig(BLK_CFG.NUM_QUEUES, 2)).toBe(2);
    expect(dev.readConfig(BLK_CFG.PHYSICAL_BLOCK_EXP, 1)).toBe(3);
    expect(cfg(BLK_CFG.MAX_DISCARD_SEG)).toBe(16);
    expect(dev.readConfig(BLK_CFG.WRITE_ZEROES_MAY_UNMAP, 1)).toBe(1);
    // Read-only config: writes are ignored and counted.
    d.write32(REG.Config + BLK_CFG.CAPACITY, 5);
    expect(cfg(BLK_CFG.CAPACITY)).toBe(DISK / 512);
    expect(dev.counters.configWritesIgnored).toBe(1);
  });

  it("a read-only disk offers RO and no discard or write-zeroes", () => {
    const dev = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(4096), { readOnly: true }) });
    expect(dev.features & bit(BLK_F.RO)).toBe(bit(BLK_F.RO));
    expect(dev.features & (bit(BLK_F.DISCARD) | bit(BLK_F.WRITE_ZEROES))).toBe(0n);
    expect(dev.readConfig(BLK_CFG.MAX_DISCARD_SECTORS, 4)).toBe(0);
  });
});

describe("BlockDevice: every request type on a sync backend", () => {
  it("IN reads sectors into guest RAM and reports data + status bytes", () => {
    const { dev, d, image } = setup();
    const c = submit(d, BLK_T.IN, 3, { inLen: 1024 });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 1025 }]);
    expect(status(d, c)).toBe(BLK_S.OK);
    expect(d.read(c.writable[0]!.addr, 1024)).toEqual(image.subarray(1536, 2560));
    expect(dev.counters).toMatchObject({ reqIn: 1, bytesRead: 1024, completed: 1, errors: 0, inFlight: 0 });
  });

  it("IN through an indirect table, data and status in one descriptor", () => {
    const { d, image } = setup();
    const c = d.addChain(0, { readable: [requestHeader(BLK_T.IN, 1)], writable: [513] }, { indirect: true });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 513 }]);
    const got = d.read(c.writable[0]!.addr, 513);
    expect(got.subarray(0, 512)).toEqual(image.subarray(512, 1024));
    expect(got[512]).toBe(BLK_S.OK);
  });

  it("OUT writes guest data to the disk", () => {
    const { dev, d, image } = setup();
    const data = new Uint8Array(2048).fill(0x5a);
    const c = submit(d, BLK_T.OUT, 100, { out: data });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 1 }]);
    expect(status(d, c)).toBe(BLK_S.OK);
    expect(image.subarray(51200, 53248)).toEqual(data);
    expect(dev.counters).toMatchObject({ reqOut: 1, bytesWritten: 2048 });
  });

  it("FLUSH calls the backend's flush", () => {
    let flushes = 0;
    const mem = new MemoryBackend(new Uint8Array(DISK));
    const backend: BlockBackend = { ...bind(mem), flush: () => void flushes++ };
    const { d } = setup({ backend });
    const c = submit(d, BLK_T.FLUSH, 0);
    expect(d.kick(0)).toEqual([{ id: c.head, len: 1 }]);
    expect(status(d, c)).toBe(BLK_S.OK);
    expect(flushes).toBe(1);
  });

  it("GET_ID returns the 20-byte serial", () => {
    const { dev, d } = setup({ serial: "disk-serial-42" });
    const c = submit(d, BLK_T.GET_ID, 0, { inLen: 20 });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 21 }]);
    const id = d.read(c.writable[0]!.addr, 20);
    expect(new TextDecoder().decode(id.subarray(0, 14))).toBe("disk-serial-42");
    expect([...id.subarray(14)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(dev.counters.reqGetId).toBe(1);
    // A serial longer than 20 bytes is cut to 20.
    const long = setup({ serial: "x".repeat(30) });
    const c2 = submit(long.d, BLK_T.GET_ID, 0, { inLen: 20 });
    long.d.kick(0);
    expect(new TextDecoder().decode(long.d.read(c2.writable[0]!.addr, 20))).toBe("x".repeat(20));
  });

  it("DISCARD and WRITE_ZEROES zero their ranges", () => {
    const { dev, d, image } = setup();
    const list = new Uint8Array(32);
    list.set(segment(8, 8), 0);
    list.set(segment(40, 1), 16);
    const c1 = submit(d, BLK_T.DISCARD, 0, { out: list });
    const c2 = submit(d, BLK_T.WRITE_ZEROES, 0, { out: segment(100, 4, 1) });
    expect(d.kick(0)).toEqual([{ id: c1.head, len: 1 }, { id: c2.head, len: 1 }]);
    expect([status(d, c1), status(d, c2)]).toEqual([BLK_S.OK, BLK_S.OK]);
    expect(image.subarray(4096, 8192).every((x) => x === 0)).toBe(true);
    expect(image.subarray(40 * 512, 41 * 512).every((x) => x === 0)).toBe(true);
    expect(image.subarray(51200, 53248).every((x) => x === 0)).toBe(true);
    expect(image[8192]).not.toBe(0);
    expect(dev.counters).toMatchObject({ reqDiscard: 1, reqWriteZeroes: 1, bytesDiscarded: 4608, bytesZeroed: 2048 });
  });

  it("a batch completes in order with one interrupt", () => {
    const { dev, d } = setup();
    const cs = [0, 1, 2, 3].map((i) => submit(d, BLK_T.IN, i, { inLen: 512 }));
    expect(d.kick(0).map((u) => u.id)).toEqual(cs.map((c) => c.head));
    expect(dev.counters.signals).toBe(1);
    expect(d.lineEvents).toEqual(["raise"]);
  });
});

describe("BlockDevice: bad requests are completed, never dropped", () => {
  it("read-only disk refuses OUT with IOERR and leaves the image alone", () => {
    const image = pattern(DISK);
    const { dev, d } = setup({ backend: new MemoryBackend(image, { readOnly: true }) });
    const c = submit(d, BLK_T.OUT, 0, { out: new Uint8Array(512) });
    const r = submit(d, BLK_T.IN, 0, { inLen: 512 });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 1 }, { id: r.head, len: 513 }]);
    expect(status(d, c)).toBe(BLK_S.IOERR);
    expect(status(d, r)).toBe(BLK_S.OK);
    expect(Buffer.compare(image, pattern(DISK))).toBe(0);
    expect(dev.counters).toMatchObject({ errReadOnly: 1, errors: 1 });
  });

  it("the readOnly option overrides a writable backend", () => {
    const { d, image } = setup({ readOnly: true });
    const c = submit(d, BLK_T.WRITE_ZEROES, 0, { out: segment(0, 1) });
    d.kick(0);
    expect(status(d, c)).toBe(BLK_S.IOERR);
    expect(image[1]).not.toBe(0);
  });

  it("out-of-range and overflowing sectors get IOERR, no data written", () => {
    const { dev, d } = setup();
    const a = submit(d, BLK_T.IN, DISK / 512, { inLen: 512 });
    const b = submit(d, BLK_T.OUT, DISK / 512 - 1, { out: new Uint8Array(1024) });
    const c = submit(d, BLK_T.IN, 0xffff_ffff_ffff_ffffn, { inLen: 512 });
    expect(d.kick(0).map((u) => u.len)).toEqual([1, 1, 1]);
    expect([a, b, c].map((x) => status(d, x))).toEqual([BLK_S.IOERR, BLK_S.IOERR, BLK_S.IOERR]);
    expect(d.read(a.writable[0]!.addr, 4)).toEqual(new Uint8Array(4).fill(0xee));
    expect(dev.counters.errOutOfRange).toBe(3);
  });

  it("unknown and unoffered types get UNSUPP", () => {
    const { dev, d } = setup();
    const cs = [BLK_T.GET_LIFETIME, BLK_T.SECURE_ERASE, 77].map((t) => submit(d, t, 0, { inLen: 16 }));
    expect(d.kick(0).map((u) => u.len)).toEqual([1, 1, 1]);
    expect(cs.map((c) => status(d, c))).toEqual([BLK_S.UNSUPP, BLK_S.UNSUPP, BLK_S.UNSUPP]);
    expect(dev.counters).toMatchObject({ errUnsupported: 3, reqOther: 3 });
  });

  it("malformed chains: short header, ragged data, no status byte", () => {
    const { dev, d } = setup();
    const short = d.addChain(0, { readable: [new Uint8Array(8)], writable: [1] });
    const ragged = submit(d, BLK_T.IN, 0, { inLen: 100 });
    const noStatus = d.addChain(0, { readable: [requestHeader(BLK_T.IN, 0)] });
    expect(d.kick(0)).toEqual([
      { id: short.head, len: 1 },
      { id: ragged.head, len: 1 },
      { id: noStatus.head, len: 0 },
    ]);
    expect(status(d, short)).toBe(BLK_S.IOERR);
    expect(status(d, ragged)).toBe(BLK_S.IOERR);
    expect(dev.counters).toMatchObject({ errHeaderTooShort: 1, errBadDataLength: 1, errNoStatus: 1, errors: 3, completed: 3 });
  });

  it("a request larger than seg_max * size_max gets IOERR", () => {
    const { dev, d } = setup({ segMax: 2, sizeMax: 4096 });
    const c = submit(d, BLK_T.IN, 0, { inLen: 8192 + 512 });
    d.kick(0);
    expect(status(d, c)).toBe(BLK_S.IOERR);
    expect(dev.counters.errTooLarge).toBe(1);
  });

  it("a throwing backend gives IOERR and the next request still works", () => {
    const mem = new MemoryBackend(new Uint8Array(DISK));
    const backend: BlockBackend = {
      ...bind(mem),
      read: () => {
        throw new Error("disk on fire");
      },
    };
    const { dev, d } = setup({ backend });
    const a = submit(d, BLK_T.IN, 0, { inLen: 512 });
    const b = submit(d, BLK_T.OUT, 0, { out: new Uint8Array(512) });
    d.kick(0);
    expect([status(d, a), status(d, b)]).toEqual([BLK_S.IOERR, BLK_S.OK]);
    expect(dev.counters.errBackend).toBe(1);
  });
});

describe("BlockDevice: async backends", () => {
  function asyncSetup(o: Partial<BlockDeviceOptions> = {}) {
    const image = pattern(DISK);
    const backend = new DeferredBackend(new MemoryBackend(image));
    return { ...setup({ ...o, backend }), backend, image };
  }

  it("completes after the backend resolves, in submission order", async () => {
    const { dev, d, backend, image } = asyncSetup();
    const a = submit(d, BLK_T.IN, 0, { inLen: 512 });
    const b = submit(d, BLK_T.IN, 1, { inLen: 512 });
    expect(d.kick(0)).toEqual([]);
    expect(dev.counters.inFlight).toBe(2);
    backend.calls[1]!.release(); // the second finishes first...
    await settle(d);
    expect(d.takeUsed(0)).toEqual([]); // ...but waits for the first
    backend.calls[0]!.release();
    await settle(d);
    expect(d.takeUsed(0)).toEqual([{ id: a.head, len: 513 }, { id: b.head, len: 513 }]);
    expect(d.read(a.writable[0]!.addr, 512)).toEqual(image.subarray(0, 512));
    expect(d.read(b.writable[0]!.addr, 512)).toEqual(image.subarray(512, 1024));
    expect(dev.counters).toMatchObject({ inFlight: 0, inFlightBytes: 0, completed: 2, signals: 1 });
  });

  it("sync-failing requests behind an async one wait their turn", async () => {
    const { d, backend } = asyncSetup();
    const a = submit(d, BLK_T.OUT, 0, { out: new Uint8Array(512) });
    const bad = submit(d, 99, 0);
    expect(d.kick(0)).toEqual([]);
    backend.releaseAll();
    await settle(d);
    expect(d.takeUsed(0).map((u) => u.id)).toEqual([a.head, bad.head]);
  });

  it("FLUSH waits for earlier writes, and completes only after the backend's flush", async () => {
    const { d, backend, image } = asyncSetup();
    const w = submit(d, BLK_T.OUT, 2, { out: new Uint8Array(512).fill(1) });
    const f = submit(d, BLK_T.FLUSH, 0);
    d.kick(0);
    expect(backend.waiting.map((c) => c.op)).toEqual(["write"]); // flush not issued yet
    backend.calls[0]!.release();
    await settle(d);
    expect(backend.waiting.map((c) => c.op)).toEqual(["flush"]);
    expect(d.takeUsed(0).map((u) => u.id)).toEqual([w.head]);
    backend.waiting[0]!.release();
    await settle(d);
    expect(d.takeUsed(0).map((u) => u.id)).toEqual([f.head]);
    expect(status(d, f)).toBe(BLK_S.OK);
    expect(image[1024]).toBe(1);
  });

  it("a rejected backend call completes with IOERR", async () => {
    const { dev, d, backend } = asyncSetup();
    const a = submit(d, BLK_T.IN, 0, { inLen: 512 });
    d.kick(0);
    backend.calls[0]!.fail();
    await settle(d);
    expect(d.takeUsed(0)).toEqual([{ id: a.head, len: 1 }]);
    expect(status(d, a)).toBe(BLK_S.IOERR);
    expect(d.read(a.writable[0]!.addr, 2)).toEqual(Uint8Array.of(0xee, 0xee));
    expect(dev.counters).toMatchObject({ errBackend: 1, inFlight: 0 });
  });

  it("reset with requests in flight: late completions never touch guest RAM", async () => {
    const { dev, d, backend } = asyncSetup();
    const a = submit(d, BLK_T.IN, 0, { inLen: 512 });
    d.kick(0);
    expect(dev.counters.inFlight).toBe(1);
    d.reset(); // driver writes Status = 0
    expect(dev.counters.inFlight).toBe(0);
    const ramBefore = d.ram.slice();
    backend.releaseAll();
    await settle(d);
    expect(Buffer.compare(d.ram, ramBefore)).toBe(0); // (toEqual on 4 MiB is slow)
    expect(d.read(a.writable[0]!.addr, 4)).toEqual(new Uint8Array(4).fill(0xee));
    expect(dev.counters.droppedAfterReset).toBe(1);
    // The device works again after a fresh probe.
    backend.auto = true;
    expect(d.init().ok).toBe(true);
    const b = submit(d, BLK_T.IN, 0, { inLen: 512 });
    d.kick(0);
    await settle(d);
    expect(d.takeUsed(0)).toEqual([{ id: b.head, len: 513 }]);
  });

  it("stops taking requests past the in-flight byte budget and resumes on completion", async () => {
    const { dev, d, backend } = asyncSetup({ maxInFlightBytes: 1024 });
    const cs = [0, 1, 2, 3].map((i) => submit(d, BLK_T.IN, i * 2, { inLen: 1024 }));
    d.kick(0);
    expect(backend.waiting).toHaveLength(1);
    expect(dev.counters.inFlightBytes).toBe(1024);
    backend.auto = true;
    backend.releaseAll();
    for (let i = 0; i < 5; i++) await settle(d);
    expect(d.takeUsed(0).map((u) => u.id)).toEqual(cs.map((c) => c.head));
  });

  it("many requests on two queues", async () => {
    const { dev, d, backend } = asyncSetup({ numQueues: 2 });
    backend.auto = true;
    const q0 = Array.from({ length: 20 }, (_, i) => submit(d, BLK_T.IN, i, { inLen: 512, queue: 0 }));
    const q1 = Array.from({ length: 20 }, (_, i) => submit(d, BLK_T.OUT, 1000 + i, { out: new Uint8Array(512).fill(i), queue: 1 }));
    d.notify(0);
    d.notify(1);
    d.runTasks();
    await settle(d);
    expect(d.takeUsed(0).map((u) => u.id)).toEqual(q0.map((c) => c.head));
    expect(d.takeUsed(1).map((u) => u.id)).toEqual(q1.map((c) => c.head));
    expect(dev.counters).toMatchObject({ reqIn: 20, reqOut: 20, completed: 40, errors: 0, inFlight: 0 });
  });
});

describe("BlockDevice: queues", () => {
  it("maps queues by their index when the driver leaves one unused", () => {
    const image = pattern(DISK);
    const dev = new BlockDevice({ backend: new MemoryBackend(image), numQueues: 2 });
    const d = new TestDriver({ device: dev });
    expect(d.init({ queueSizes: [0, 64] }).ok).toBe(true);
    const c = submit(d, BLK_T.IN, 0, { inLen: 512, queue: 1 });
    expect(d.kick(1)).toEqual([{ id: c.head, len: 513 }]);
    expect(d.read(c.writable[0]!.addr, 512)).toEqual(image.subarray(0, 512));
    dev.notify(0);
    dev.notify(7);
    expect(dev.counters.badNotifies).toBe(2);
  });
});

describe("BlockDevice: random hostile requests", () => {
  for (const mode of ["sync", "async"] as const) {
    it(`completes every one of them (${mode} backend)`, async () => {
      let seed = 12345;
      const rand = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const mem = new MemoryBackend(pattern(DISK));
      const backend = mode === "sync" ? mem : Object.assign(new DeferredBackend(mem), { auto: true });
      const { dev, d } = setup({ backend, maxDiscardSeg: 2 });
      const types = [0, 1, 4, 8, 10, 11, 13, 14, 3, 0xffffffff];
      for (let round = 0; round < 20; round++) {
        const heads: number[] = [];
        for (let i = 0; i < 10; i++) {
          const h = requestHeader(types[rand(types.length)]!, rand(4) === 0 ? 0xffff_ffff_0000n + BigInt(rand(99)) : rand(DISK / 512 + 8));
          const readable = [h.subarray(0, rand(5) === 0 ? rand(16) : 16)];
          if (rand(2)) readable.push(rand(2) ? segment(rand(2100), rand(40), rand(3)) : new Uint8Array(rand(3) * 512 + rand(2) * 7));
          const writable = Array.from({ length: rand(3) }, () => rand(3) * 512 + rand(3));
          heads.push(d.addChain(0, { readable, writable }, { indirect: rand(2) === 1 }).head);
        }
        d.notify(0);
        d.runTasks();
        await settle(d);
        await settle(d);
        expect(d.takeUsed(0).map((u) => u.id)).toEqual(heads);
      }
      expect(dev.counters.internalErrors).toBe(0);
      expect(dev.counters.completed).toBe(200);
      expect(dev.counters.requests).toBe(200);
      expect(dev.counters.inFlightBytes).toBe(0);
      expect(d.transport.counters.errors.queueBroken).toBe(0);
    });
  }
});

/** A BlockBackend object literal copy of a class instance (methods bound). */
function bind(b: MemoryBackend): BlockBackend {
  return {
    size: b.size,
    readOnly: b.readOnly,
    read: (o, d) => b.read(o, d),
    write: (o, s) => b.write(o, s),
    flush: () => b.flush(),
    discard: (o, l) => b.discard(o, l),
    writeZeroes: (o, l) => b.writeZeroes(o, l),
  };
}

describe("BlockDevice: reused bookkeeping in the steady state", () => {
  it("hundreds of mixed requests, one at a time and in batches, each gets its own data and status", () => {
    const { dev, d, image } = setup();
    let expectCompleted = 0;
    for (let round = 0; round < 60; round++) {
      const batch = 1 + (round % 5);
      const chains: { c: AddedChain; sector: number; sectors: number; write: boolean }[] = [];
      for (let k = 0; k < batch; k++) {
        const sector = (round * 37 + k * 11) % 1900;
        const sectors = 1 + ((round + k) % 3);
        const write = (round + k) % 4 === 0;
        const out = write ? new Uint8Array(sectors * 512).fill((round + k) & 0xff) : undefined;
        const c = submit(d, write ? BLK_T.OUT : BLK_T.IN, sector, write ? { out } : { inLen: sectors * 512 });
        chains.push({ c, sector, sectors, write });
      }
      // One bad request in the middle of some batches: it must not disturb its neighbours.
      const bad = round % 7 === 3 ? submit(d, 99, 0) : null;
      const used = d.kick(0);
      expectCompleted += batch + (bad ? 1 : 0);
      expect(used.map((u) => u.id)).toEqual([...chains.map((x) => x.c.head), ...(bad ? [bad.head] : [])]);
      for (const { c, sector, sectors, write } of chains) {
        expect(status(d, c)).toBe(BLK_S.OK);
        const bytes = image.subarray(sector * 512, (sector + sectors) * 512);
        if (write) expect(bytes.every((b) => b === bytes[0])).toBe(true);
        else expect(d.read(c.writable[0]!.addr, sectors * 512)).toEqual(bytes);
      }
      if (bad) expect(status(d, bad)).toBe(BLK_S.UNSUPP);
    }
    expect(dev.counters).toMatchObject({ completed: expectCompleted, inFlight: 0, inFlightBytes: 0, internalErrors: 0 });
  });

  it("requests that went async are never handed out again while their callbacks may run", async () => {
    const image = pattern(DISK);
    const backend = new DeferredBackend(new MemoryBackend(image));
    const { d } = setup({ backend });
    const a = submit(d, BLK_T.IN, 4, { inLen: 512 });
    expect(d.kick(0)).toEqual([]);
    backend.releaseAll();
    await settle(d);
    expect(d.takeUsed(0)).toEqual([{ id: a.head, len: 513 }]);
    const b = submit(d, BLK_T.IN, 8, { inLen: 512 });
    d.kick(0);
    backend.releaseAll();
    await settle(d);
    d.takeUsed(0);
    expect(d.read(a.writable[0]!.addr, 512)).toEqual(image.subarray(2048, 2560));
    expect(d.read(b.writable[0]!.addr, 512)).toEqual(image.subarray(4096, 4608));
  });
});
