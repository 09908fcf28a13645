// virtio-blk under the fuzzer, over a memory disk or a copy-on-write overlay on a read-only
// base. The well-behaved driver keeps a shadow of the disk (taken from the backend when its
// episode starts) and checks every read against it: what it wrote it must read back.

import { FEATURE } from "../virtio/constants.ts";
import type { BlockBackend } from "../devices/blk/backend.ts";
import { BLK_F, BLK_S, BLK_T, SECTOR_SIZE, bit } from "../devices/blk/constants.ts";
import { BlockDevice, type BlockDeviceOptions } from "../devices/blk/device.ts";
import { blockPersist } from "../devices/blk/device-state.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { drainMicrotasks } from "./deferred-disk.ts";
import { split } from "./echo-rig.ts";
import type { Prng } from "../testing/prng.ts";
import { kick, publish, rawQueue, sendRaw } from "./raw-queue.ts";
import { Rig, expectRise, type Expectation, type MsiLayout, type StepResult } from "./rig.ts";

const SERIAL = "fuzz-blk";
const MAX_SECTORS = 8;
const SEG_MAX = 8;
const SIZE_MAX = 4096;
const MAX_DISCARD_SECTORS = 64;
const MAX_DISCARD_SEG = 4;

function overlaps(a: number, aBytes: number, b: number, bBytes: number): boolean {
  return a * SECTOR_SIZE < b * SECTOR_SIZE + bBytes && b * SECTOR_SIZE < a * SECTOR_SIZE + aBytes;
}

/** virtio_blk_outhdr. */
export function blkHeader(type: number, sector: number, sectorHi = 0): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector, true);
  dv.setUint32(12, sectorHi, true);
  return h;
}

/** virtio_blk_discard_write_zeroes entries. */
function segments(list: readonly { sector: number; sectors: number; flags?: number }[]): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(16 * list.length);
  const dv = new DataView(b.buffer);
  list.forEach((s, i) => {
    dv.setUint32(16 * i, s.sector, true);
    dv.setUint32(16 * i + 8, s.sectors, true);
    dv.setUint32(16 * i + 12, s.flags ?? 0, true);
  });
  return b;
}

export class BlkRig extends Rig {
  device: BlockDevice;
  /** What the device was built with: a restore builds a fresh one alike over the same disk. */
  readonly #options: BlockDeviceOptions;
  readonly poppingQueues = [0, 1];
  protected readonly optionalFeatures =
    FEATURE.EVENT_IDX | FEATURE.INDIRECT_DESC | bit(BLK_F.DISCARD) | bit(BLK_F.WRITE_ZEROES) | bit(BLK_F.FLUSH);
  /** Where the shadow comes from: the backend itself, or the synchronous disk under it. */
  readonly #backend: BlockBackend;
  readonly #sectors: number;
  #shadow = new Uint8Array(0);
  /**
   * Sectors whose contents this episode knows for sure (it wrote or zeroed them). Over a disk
   * that may still finish I/O from before the reset, only these can be checked; over a
   * synchronous disk the whole shadow is exact.
   */
  #known = new Uint8Array(0);
  protected exactShadow = true;
  readonly #budget: number;
  /** Share of hostile requests that are valid ones left in flight. */
  protected honestShare = 0.4;

  /** `maxInFlightBytes`: the device's budget of data held by unfinished requests. */
  constructor(name: string, msi: MsiLayout, backend: BlockBackend, shadowSource: BlockBackend = backend, maxInFlightBytes?: number) {
    const options: BlockDeviceOptions = {
      ...(maxInFlightBytes === undefined ? {} : { maxInFlightBytes }),
      backend, serial: SERIAL, queueSize: 16, numQueues: 2, segMax: SEG_MAX, sizeMax: SIZE_MAX,
      maxDiscardSectors: MAX_DISCARD_SECTORS, maxDiscardSeg: MAX_DISCARD_SEG,
      maxWriteZeroesSectors: MAX_DISCARD_SECTORS, maxWriteZeroesSeg: MAX_DISCARD_SEG,
    };
    const device = new BlockDevice(options);
    super(name, device, msi);
    this.device = device;
    this.#options = options;
    this.#backend = shadowSource;
    this.#budget = maxInFlightBytes ?? 64 * 1024 * 1024;
    this.#sectors = Math.floor(backend.size / SECTOR_SIZE);
  }

  override popsNow(): boolean {
    return this.device.counters.inFlightBytes < this.#budget;
  }

  protected deviceGuestErrors(): number {
    const c = this.device.counters;
    return c.errors + c.badNotifies + c.configReadsOutOfRange + c.configWritesIgnored;
  }

  deviceInternalErrors(): number {
    return this.device.counters.internalErrors;
  }

  /** A save needs a quiet device (saveBlockState): what is in flight finishes first. */
  override async drainForSave(rng: Prng): Promise<boolean> {
    for (let round = 0; round < 256 && this.device.inFlightRequests > 0; round++) {
      await drainMicrotasks();
      this.driver.runTasks();
      this.releaseForSave(rng);
    }
    return this.device.inFlightRequests === 0;
  }

  /** Lets a disk that answers late answer (drainForSave). */
  protected releaseForSave(_rng: Prng): void {}

  protected saveDevice(): unknown {
    return blockPersist(this.device).save();
  }

  /** The disk's bytes are the backend's, which the fresh device shares (they travel beside the state). */
  protected freshDevice(saved: unknown): { device: VirtioDevice; apply: () => void } {
    const device = new BlockDevice(this.#options);
    const p = blockPersist(device);
    const checked = p.check(saved);
    return { device, apply: () => p.apply(checked) };
  }

  protected adoptDevice(device: VirtioDevice): void {
    this.device = device as BlockDevice;
  }

  triggerConfig(): boolean {
    return false; // a block device's config never changes here
  }

  protected override beginEpisode(): void {
    // The disk as it is now (hostile episodes may have written it); this episode checks itself.
    this.#shadow = new Uint8Array(this.#backend.size);
    this.#known = new Uint8Array(this.#sectors).fill(this.exactShadow ? 1 : 0);
    const r = this.#backend.read(0, this.#shadow);
    if (r !== undefined) throw new Error("the fuzzer's block backends must be synchronous");
  }

  protected async step(rng: Prng): Promise<StepResult> {
    const q = rng.int(2);
    const kinds = ["write", "write", "read", "read", "id", "concurrent"];
    if (this.negotiated(bit(BLK_F.FLUSH))) kinds.push("flush");
    if (this.negotiated(bit(BLK_F.DISCARD))) kinds.push("discard");
    if (this.negotiated(bit(BLK_F.WRITE_ZEROES))) kinds.push("zeroes");
    const kind = rng.pick(kinds);
    const n = rng.range(1, MAX_SECTORS);
    const sector = this.#pickSector(rng, n);
    const indirect = rng.chance(0.4);
    switch (kind) {
      case "concurrent":
        return this.#concurrent(rng);
      case "write": {
        const data = rng.bytes(n * SECTOR_SIZE);
        const pieces: Uint8Array[] = [blkHeader(BLK_T.OUT, sector)];
        let at = 0;
        for (const len of split(rng, data.length)) pieces.push(data.subarray(at, (at += len)));
        const c = this.addChain(q, { readable: pieces, writable: [1] }, indirect);
        const err = (await this.kickOne(q, c, 1)) ?? this.#status(c.writable[0]!.addr, "write");
        if (err !== null) return err;
        this.#shadow.set(data, sector * SECTOR_SIZE);
        this.#known.fill(1, sector, sector + n);
        return null;
      }
      case "read": {
        const len = n * SECTOR_SIZE;
        const c = this.addChain(q, { readable: [blkHeader(BLK_T.IN, sector)], writable: [...split(rng, len), 1] }, indirect);
        const err = (await this.kickOne(q, c, len + 1)) ?? this.#status(c.writable.at(-1)!.addr, "read");
        if (err !== null) return err;
        const got = this.writtenBytes(c, len);
        const want = this.#shadow.subarray(sector * SECTOR_SIZE, sector * SECTOR_SIZE + len);
        for (let i = 0; i < len; i++) {
          if (got[i] !== want[i] && this.#known[sector + (i >> 9)]) {
            return `blk: read of sector ${sector} differs at byte ${i}: ${got[i]} != ${want[i]}`;
          }
        }
        return null;
      }
      case "id": {
        const c = this.addChain(q, { readable: [blkHeader(BLK_T.GET_ID, 0)], writable: [20, 1] }, indirect);
        const err = (await this.kickOne(q, c, 21)) ?? this.#status(c.writable[1]!.addr, "get-id");
        if (err !== null) return err;
        const id = new TextDecoder().decode(this.writtenBytes(c, 20)).replace(/\0+$/, "");
        return id === SERIAL ? null : `blk: GET_ID answered "${id}"`;
      }
      case "flush": {
        const c = this.addChain(q, { readable: [blkHeader(BLK_T.FLUSH, 0)], writable: [1] }, indirect);
        return (await this.kickOne(q, c, 1)) ?? this.#status(c.writable[0]!.addr, "flush");
      }
      default: {
        const count = rng.range(1, MAX_DISCARD_SEG);
        const list = Array.from({ length: count }, () => {
          const sectors = rng.range(1, MAX_DISCARD_SECTORS);
          return { sector: rng.int(this.#sectors - sectors + 1), sectors, flags: kind === "zeroes" && rng.chance(0.5) ? 1 : 0 };
        });
        const type = kind === "discard" ? BLK_T.DISCARD : BLK_T.WRITE_ZEROES;
        const c = this.addChain(q, { readable: [blkHeader(type, 0), segments(list)], writable: [1] }, indirect);
        const err = (await this.kickOne(q, c, 1)) ?? this.#status(c.writable[0]!.addr, kind);
        if (err !== null) return err;
        // Our backends read discarded ranges back as zeros.
        for (const s of list) {
          this.#shadow.fill(0, s.sector * SECTOR_SIZE, (s.sector + s.sectors) * SECTOR_SIZE);
          this.#known.fill(1, s.sector, s.sector + s.sectors);
        }
        return null;
      }
    }
  }

  /**
   * A valid request left to complete whenever the disk answers (an async disk keeps it in
   * flight across later operations); sometimes its head is published again while in flight.
   */
  #honestRequest(rng: Prng, q: NonNullable<ReturnType<typeof rawQueue>>): void {
    const n = rng.range(1, MAX_SECTORS);
    const sector = this.#pickSector(rng, n);
    const parts: (Uint8Array | number)[] = rng.pick([
      () => [blkHeader(BLK_T.IN, sector), n * SECTOR_SIZE, 1],
      () => [blkHeader(BLK_T.OUT, sector), rng.bytes(n * SECTOR_SIZE), 1],
      () => [blkHeader(BLK_T.FLUSH, 0), 1],
      () => [blkHeader(rng.chance(0.5) ? BLK_T.DISCARD : BLK_T.WRITE_ZEROES, 0), segments([{ sector, sectors: n }]), 1],
    ])();
    const sent = sendRaw(this, rng, q, parts);
    if (sent.head !== null && rng.chance(0.2)) {
      // The driver hands the same head over again before the device gave it back.
      if (rng.chance(0.5)) sendRaw(this, rng, q, [blkHeader(BLK_T.IN, 0), rng.range(1, 4) * SECTOR_SIZE, 1]);
      publish(this, q, sent.head);
      kick(this, q);
    }
  }

  /** Half the requests go to the first 4 KiB, so requests of different lives meet there. */
  #pickSector(rng: Prng, n: number): number {
    return rng.chance(0.5) ? rng.int(MAX_SECTORS - n + 1) : rng.int(this.#sectors - n + 1);
  }

  /**
   * Several writes to disjoint sectors over both queues, each queue notified once, all in flight
   * together (an async disk finishes them in any order): every one must come back, in order per
   * queue, even when the device's in-flight budget made it wait.
   */
  async #concurrent(rng: Prng): Promise<StepResult> {
    const n = rng.range(2, 5);
    type Sent = { q: number; sector: number; data: Uint8Array; read: boolean; chain: ReturnType<BlkRig["addChain"]> };
    const sent: Sent[] = [];
    for (let i = 0; i < n; i++) {
      const q = rng.int(2);
      if ((this.driver.queues[q]?.free.length ?? 0) < 3) continue;
      const sector = 64 + i * MAX_SECTORS + rng.int(this.#sectors / 2);
      const len = rng.range(1, MAX_SECTORS) * SECTOR_SIZE;
      if (sector + len / SECTOR_SIZE > this.#sectors || sent.some((s) => overlaps(s.sector, s.data.length, sector, len))) continue;
      // Reads and writes of disjoint sectors, in flight together: each read sees the shadow.
      const read = rng.chance(0.4);
      const data = read ? this.#shadow.slice(sector * SECTOR_SIZE, sector * SECTOR_SIZE + len) : rng.bytes(len);
      const chain = read
        ? this.addChain(q, { readable: [blkHeader(BLK_T.IN, sector)], writable: [len, 1] }, false)
        : this.addChain(q, { readable: [blkHeader(BLK_T.OUT, sector), data], writable: [1] }, false);
      sent.push({ q, sector, data, read, chain });
    }
    const queues = [...new Set(sent.map((s) => s.q))];
    for (const q of queues) this.driver.notify(q);
    this.driver.runTasks();
    await this.settle();
    this.driver.runTasks();
    for (const q of queues) {
      const used = this.takeUsed(q);
      const mine = sent.filter((s) => s.q === q);
      const want = mine.map((s) => ({ id: s.chain.head, len: s.read ? s.data.length + 1 : 1 }));
      if (JSON.stringify(used) !== JSON.stringify(want)) return `blk concurrent: queue ${q} used ${JSON.stringify(used)}, expected ${JSON.stringify(want)}`;
      for (const s of mine) {
        const err = this.#status(s.chain.writable.at(-1)!.addr, s.read ? "concurrent read" : "concurrent write");
        if (err !== null) return err;
        if (s.read) {
          const got = this.writtenBytes(s.chain, s.data.length);
          for (let i = 0; i < got.length; i++) {
            if (got[i] !== s.data[i] && this.#known[s.sector + (i >> 9)]) return `blk concurrent: read of sector ${s.sector} differs at byte ${i}`;
          }
          continue;
        }
        this.#shadow.set(s.data, s.sector * SECTOR_SIZE);
        this.#known.fill(1, s.sector, s.sector + s.data.length / SECTOR_SIZE);
      }
      this.wantQueue(q);
    }
    return null;
  }

  #status(addr: number, what: string): StepResult {
    const s = this.driver.ram[addr];
    return s === BLK_S.OK ? null : `blk: ${what} completed with status ${s}`;
  }

  hostileRequest(rng: Prng, queue: number | null): Expectation | null {
    const q = queue === null ? null : rawQueue(this, queue);
    if (q === null) return null;
    const c = this.device.counters;
    const cap = this.#sectors;
    if (rng.chance(this.honestShare)) {
      this.#honestRequest(rng, q);
      return null;
    }
    const cases: [keyof typeof c, () => (Uint8Array | number)[]][] = [
      ["errOutOfRange", () => [blkHeader(BLK_T.IN, cap + rng.int(1 << 20) - rng.int(1)), SECTOR_SIZE, 1]],
      ["errOutOfRange", () => [blkHeader(BLK_T.OUT, rng.u32(), 1 + rng.int(0xffff)), new Uint8Array(SECTOR_SIZE), 1]],
      ["errUnsupported", () => [blkHeader(rng.pick([2, 3, 5, 7, 10, 14, 99, 0xffffffff]), 0), 1]],
      ["errBadDataLength", () => [blkHeader(BLK_T.OUT, 0), new Uint8Array(rng.range(1, 511)), 1]],
      ["errNoStatus", () => [blkHeader(BLK_T.IN, 0), new Uint8Array(4)]],
      ["errHeaderTooShort", () => [new Uint8Array(rng.range(1, 15)), 1]],
      ["errTooLarge", () => [blkHeader(BLK_T.IN, 0), SEG_MAX * SIZE_MAX + SECTOR_SIZE, 1]],
      ["errBadFlags", () => [blkHeader(BLK_T.DISCARD, 0), segments([{ sector: 0, sectors: 1, flags: 1 + rng.int(8) }]), 1]],
      ["errBadSegments", () => [blkHeader(BLK_T.WRITE_ZEROES, 0), segments(Array.from({ length: MAX_DISCARD_SEG + 1 }, () => ({ sector: 0, sectors: 1 }))), 1]],
      ["errBadSegments", () => [blkHeader(BLK_T.DISCARD, 0), segments([{ sector: 0, sectors: MAX_DISCARD_SECTORS + 1 }]), 1]],
    ];
    const [key, build] = rng.pick(cases);
    const e = expectRise(`blk.${key}`, () => c[key]);
    // Behind a request still in flight the answer waits its turn (completions keep their order).
    const nothingAhead = c.inFlight === 0;
    const sent = sendRaw(this, rng, q, build());
    if (!sent.ok) return null;
    // The request failed, and said so in its status byte (when it had one).
    const status = sent.writable.at(-1);
    if (nothingAhead && key !== "errNoStatus" && status !== undefined && this.driver.ram[status.addr + status.len - 1] === BLK_S.OK) {
      return { kind: `blk.${key} answered OK`, read: () => 0, before: 0 };
    }
    return e;
  }
}
