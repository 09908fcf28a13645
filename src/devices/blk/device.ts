// virtio-blk: takes requests off its queues, runs them against a BlockBackend and completes
// them. Knows nothing of registers or how interrupts travel (the transport does).
//
// Completion order: each queue completes its requests in the order it took them, even when
// the backend answers out of order (a FIFO whose head must finish first). That keeps a FLUSH
// behind the writes before it, and a sync backend finishes a whole batch inside notify().

import type { ActivationContext, DescriptorChain, Virtqueue, VirtioDevice } from "../../virtio/interfaces.ts";
import { isPromise, type BlockBackend, type MaybePromise } from "./backend.ts";
import { blockConfigSpace, blockFeatures, readConfigBytes, type BlockGeometry } from "./config.ts";
import { BLK_CONFIG_SIZE, BLK_ID_BYTES, BLK_S, REQUEST_HEADER_SIZE, SECTOR_SIZE } from "./constants.ts";
import { countError, countRequestType, newBlockCounters, type BlockCounters, type ExecErrorKind } from "./counters.ts";
import { parseRequest, type BlkRequest, type ByteRange, type ParseResult, type RequestLimits } from "./request.ts";

export interface BlockDeviceOptions {
  backend: BlockBackend;
  /** Name for counters and the UI. Default "blk0". */
  name?: string;
  /** Answer to GET_ID, at most 20 bytes of UTF-8 (longer is cut). Default "". */
  serial?: string;
  /** Refuse writes even if the backend takes them. Default: the backend's readOnly. */
  readOnly?: boolean;
  /** Maximum size of each queue, a power of two. Default 256. */
  queueSize?: number;
  /** More than one offers VIRTIO_BLK_F_MQ. Default 1. */
  numQueues?: number;
  /** Data segments per request the driver may use (seg_max). Default queueSize - 2. */
  segMax?: number;
  /** Largest data segment in bytes (size_max), at least 4096. Default 64 KiB. seg_max * size_max caps a request. */
  sizeMax?: number;
  /** log2(physical block / 512). Default 3: 4 KiB, the overlay's granularity. */
  physicalBlockExp?: number;
  /** Preferred I/O sizes in sectors (topology). Defaults 8 and 0 (none). */
  minIoSectors?: number;
  optIoSectors?: number;
  /** Per-range limit for DISCARD; 0 does not offer it. Default 131072 (64 MiB). */
  maxDiscardSectors?: number;
  /** Ranges per DISCARD request. Default 16. */
  maxDiscardSeg?: number;
  /** Per-range limit for WRITE_ZEROES; 0 does not offer it. Default 131072 (64 MiB). */
  maxWriteZeroesSectors?: number;
  maxWriteZeroesSeg?: number;
  /**
   * Stop taking requests while this many data bytes are held by requests not yet completed
   * (waiting on an async backend, or behind one). Default 64 MiB.
   */
  maxInFlightBytes?: number;
}

/** A request taken off a queue, waiting for its turn to complete. */
interface Pending {
  readonly chain: DescriptorChain;
  readonly statusOffset: number | null;
  status: number;
  /** IN and GET_ID: bytes for the start of the writable area, copied at completion. */
  data: Uint8Array | null;
  /** The request borrowed the device's scratch buffer. */
  usesScratch: boolean;
  /** Data-buffer bytes this request holds until it completes (the in-flight budget). */
  heldBytes: number;
  done: boolean;
  retired: boolean;
  /** Counted when the request succeeds. */
  countKey: "bytesRead" | "bytesWritten" | "bytesDiscarded" | "bytesZeroed" | null;
  countBytes: number;
  /** Its backend work went async: promise callbacks hold it, so it is never reused. */
  async?: boolean;
}

interface QueueState {
  readonly vq: Virtqueue;
  readonly fifo: Pending[];
  /** The chain being parsed, for `read` (one reader per queue instead of a closure per request). */
  parsing: DescriptorChain | null;
  readonly read: (offset: number, dest: Uint8Array) => number;
}

function queueState(vq: Virtqueue): QueueState {
  const qs: QueueState = {
    vq,
    fifo: [],
    parsing: null,
    read: (offset, dest) => (qs.parsing === null ? 0 : vq.readFrom(qs.parsing, offset, dest)),
  };
  return qs;
}

/** Retired requests kept for reuse: the steady state allocates no Pending. */
const MAX_SPARE_PENDING = 256;
/** Scratch views kept by length (requests come in a few sizes). */
const MAX_SCRATCH_VIEWS = 16;

/** Why a request failed after it parsed; anything else thrown counts as a backend error. */
class ExecError extends Error {
  constructor(readonly kind: ExecErrorKind) {
    super(kind);
  }
}

const STATUS_BYTE = [Uint8Array.of(BLK_S.OK), Uint8Array.of(BLK_S.IOERR), Uint8Array.of(BLK_S.UNSUPP)];
const EMPTY = new Uint8Array(0);
const MAX_CAPACITY_SECTORS = 2 ** 44; // keeps every byte offset a safe integer
const MIN_SCRATCH = 64 * 1024;

export class BlockDevice implements VirtioDevice {
  readonly name: string;
  readonly deviceId = 2;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = BLK_CONFIG_SIZE;

  readonly #backend: BlockBackend;
  readonly #config: Uint8Array;
  readonly #limits: RequestLimits;
  readonly #serial: Uint8Array;
  readonly #maxInFlightBytes: number;
  readonly #counters: BlockCounters = newBlockCounters();
  /** By queue index; a queue the driver left unused has no entry. */
  #queues: (QueueState | undefined)[] | null = null;
  /** Bumped by activate() and reset(): a completion from an older generation is dropped. */
  #generation = 0;
  /** Async backend operations not yet settled; a FLUSH waits for all of them first. */
  readonly #pending = new Set<Promise<void>>();
  /**
   * Settles once the backend work started before the last reset has: the backend cannot take
   * it back, so requests of the next life wait for it, or an old write could land after (and
   * over) a newer one the driver already saw complete. Null when nothing old is in flight.
   */
  #barrier: Promise<unknown> | null = null;
  /** Queues that stopped taking requests on a full in-flight budget (any queue's, not only theirs). */
  readonly #waitingForBudget = new Set<QueueState>();
  /** Reused for sync requests; handed over to a request that has to keep it. */
  #scratch: Uint8Array = EMPTY;
  /** Views of #scratch by length, so a request borrows it without making a subarray. */
  #scratchViews = new Map<number, Uint8Array>();
  #spare: Pending[] = [];

  constructor(options: BlockDeviceOptions) {
    const backend = options.backend;
    if (!Number.isSafeInteger(backend.size) || backend.size < 0) throw new RangeError(`bad backend size ${backend.size}`);
    const capacitySectors = Math.floor(backend.size / SECTOR_SIZE);
    if (capacitySectors >= MAX_CAPACITY_SECTORS) throw new RangeError("disk too large");
    const queueSize = options.queueSize ?? 256;
    if (!Number.isInteger(queueSize) || queueSize < 2 || queueSize > 32768 || (queueSize & (queueSize - 1)) !== 0) {
      throw new RangeError(`queue size ${queueSize} is not a power of two in [2, 32768]`);
    }
    const numQueues = positive("numQueues", options.numQueues ?? 1, 0xffff);
    const readOnly = (options.readOnly ?? false) || backend.readOnly;
    const geometry: BlockGeometry = {
      capacitySectors,
      readOnly,
      numQueues,
      segMax: positive("segMax", options.segMax ?? Math.max(1, queueSize - 2), 0xffff),
      // Linux refuses a max segment size below its page size.
      sizeMax: range("sizeMax", options.sizeMax ?? 64 * 1024, 4096, 0x7fff_ffff),
      physicalBlockExp: range("physicalBlockExp", options.physicalBlockExp ?? 3, 0, 15),
      minIoSectors: range("minIoSectors", options.minIoSectors ?? 8, 0, 0xffff),
      optIoSectors: range("optIoSectors", options.optIoSectors ?? 0, 0, 0xffff_ffff),
      // A read-only disk has nothing to discard: the features are not offered at all.
      maxDiscardSectors: readOnly ? 0 : range("maxDiscardSectors", options.maxDiscardSectors ?? 131072, 0, 0xffff_ffff),
      maxDiscardSeg: positive("maxDiscardSeg", options.maxDiscardSeg ?? 16, 4096),
      discardAlignmentSectors: 1 << (options.physicalBlockExp ?? 3),
      maxWriteZeroesSectors: readOnly ? 0 : range("maxWriteZeroesSectors", options.maxWriteZeroesSectors ?? 131072, 0, 0xffff_ffff),
      maxWriteZeroesSeg: positive("maxWriteZeroesSeg", options.maxWriteZeroesSeg ?? 16, 4096),
    };
    this.name = options.name ?? "blk0";
    this.#backend = backend;
    this.features = blockFeatures(geometry);
    this.queueMaxSizes = Array.from({ length: numQueues }, () => queueSize);
    this.#config = blockConfigSpace(geometry);
    this.#limits = {
      capacitySectors,
      readOnly,
      maxDataBytes: geometry.segMax * geometry.sizeMax,
      maxDiscardSectors: geometry.maxDiscardSectors,
      maxDiscardSeg: geometry.maxDiscardSeg,
      maxWriteZeroesSectors: geometry.maxWriteZeroesSectors,
      maxWriteZeroesSeg: geometry.maxWriteZeroesSeg,
    };
    this.#serial = new Uint8Array(BLK_ID_BYTES);
    const encoded = new TextEncoder().encode(options.serial ?? "");
    this.#serial.set(encoded.subarray(0, BLK_ID_BYTES));
    this.#maxInFlightBytes = options.maxInFlightBytes ?? 64 * 1024 * 1024;
  }

  get counters(): Readonly<BlockCounters> {
    return this.#counters;
  }

  /** Requests taken off the rings and not yet on the used ring (waiting on the backend, or behind one). */
  get inFlightRequests(): number {
    let n = 0;
    for (const qs of this.#queues ?? []) n += qs?.fifo.length ?? 0;
    return n;
  }

  /**
   * Settles once no request is in flight: the point at which a save may be taken (device-state.ts).
   * The caller stops the guest first (no new notify); completions that land meanwhile retire.
   */
  async quiesce(): Promise<void> {
    while (this.#pending.size > 0 || this.#barrier !== null) {
      await Promise.allSettled([...this.#pending, ...(this.#barrier === null ? [] : [this.#barrier])]);
    }
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    const value = readConfigBytes(this.#config, offset, width);
    if (value === null) {
      this.#counters.configReadsOutOfRange++;
      return 0;
    }
    return value;
  }

  writeConfig(_offset: number, _width: 1 | 2 | 4, _value: number): void {
    // Only `writeback` is writable, and only with CONFIG_WCE, which is not offered.
    this.#counters.configWritesIgnored++;
  }

  activate(ctx: ActivationContext): string | null {
    if (ctx.queues.length < 1) return "virtio-blk needs at least one queue";
    if (ctx.queues.length > this.queueMaxSizes.length) return `virtio-blk has only ${this.queueMaxSizes.length} queue(s)`;
    const queues: (QueueState | undefined)[] = [];
    for (const vq of ctx.queues) {
      if (!Number.isInteger(vq.index) || vq.index < 0 || vq.index >= this.queueMaxSizes.length) return `no queue ${vq.index}`;
      queues[vq.index] = queueState(vq);
    }
    this.#dropInFlight();
    this.#queues = queues;
    return null;
  }

  reset(): void {
    this.#dropInFlight();
    this.#queues = null;
  }

  notify(index: number): void {
    const c = this.#counters;
    c.notifies++;
    const qs = this.#queues?.[index];
    if (qs === undefined) {
      c.badNotifies++;
      return;
    }
    this.#pump(qs);
  }

  /** Completes what is finished, takes new requests while the budget allows, signals once. */
  #pump(qs: QueueState): void {
    let pushed = 0;
    try {
      pushed += this.#retire(qs);
      for (;;) {
        if (this.#counters.inFlightBytes >= this.#maxInFlightBytes) {
          // Its driver will not notify again for chains already in the ring: resume it later.
          this.#waitingForBudget.add(qs);
          break;
        }
        const chain = qs.vq.pop();
        if (chain === null) break;
        const entry = this.#start(qs, chain);
        pushed += this.#retire(qs);
        // Still queued (async, or behind an async one): it keeps the buffer it borrowed.
        if (entry.usesScratch && !entry.retired) this.#setScratch(EMPTY);
      }
    } catch {
      // Our bug, not the guest's: count it and keep notify() from throwing into the transport.
      this.#counters.internalErrors++;
    } finally {
      // Even after a bug above, whatever reached the used ring gets its interrupt.
      if (pushed > 0) {
        this.#counters.signals++;
        try {
          qs.vq.signalUsed();
        } catch {
          this.#counters.internalErrors++;
        }
      }
    }
  }

  #start(qs: QueueState, chain: DescriptorChain): Pending {
    const c = this.#counters;
    let parsed: ParseResult;
    try {
      qs.parsing = chain;
      parsed = parseRequest(chain, qs.read, this.#limits);
    } catch {
      // Only a bug of ours can get here; the request must still complete, or the guest hangs.
      c.internalErrors++;
      const statusOffset = chain.writableLength > 0 ? chain.writableLength - 1 : null;
      parsed = { ok: false, error: "header-too-short", status: BLK_S.IOERR, statusOffset, rawType: null };
    } finally {
      qs.parsing = null;
    }
    countRequestType(c, parsed.rawType);
    const entry = this.#newPending(chain, parsed.statusOffset);
    qs.fifo.push(entry);
    if (!parsed.ok) {
      countError(c, parsed.error);
      entry.status = parsed.status;
      entry.done = true;
      return entry;
    }
    let op: MaybePromise;
    try {
      op = this.#execute(qs, entry, parsed.request);
    } catch (err) {
      countError(c, err instanceof ExecError ? err.kind : "backend");
      entry.done = true;
      return entry;
    }
    if (!isPromise(op)) {
      entry.status = BLK_S.OK;
      entry.done = true;
      return entry;
    }
    const generation = this.#generation;
    entry.async = true;
    c.inFlight++;
    const tracked: Promise<void> = op
      .then(
        () => {
          if (generation === this.#generation) entry.status = BLK_S.OK;
        },
        () => {
          if (generation === this.#generation) countError(c, "backend");
        },
      )
      .then(() => {
        if (generation !== this.#generation) {
          c.droppedAfterReset++;
          return;
        }
        this.#pending.delete(tracked);
        c.inFlight--;
        entry.done = true;
        this.#pump(qs);
        this.#resumeWaiting();
      })
      .catch(() => {
        // #pump only throws on our own bug; a rejection here must not go unhandled.
      });
    this.#pending.add(tracked);
    return entry;
  }

  /** Starts the backend work for a parsed request; throws or rejects on failure. */
  #execute(qs: QueueState, entry: Pending, req: BlkRequest): MaybePromise {
    switch (req.type) {
      case "in": {
        const buf = this.#borrowScratch(entry, req.length);
        entry.data = buf;
        entry.countKey = "bytesRead";
        entry.countBytes = req.length;
        return this.#afterReset(() => this.#backend.read(req.offset, buf));
      }
      case "out": {
        const buf = this.#borrowScratch(entry, req.length);
        if (qs.vq.readFrom(entry.chain, REQUEST_HEADER_SIZE, buf) !== req.length) throw new ExecError("short-copy");
        entry.countKey = "bytesWritten";
        entry.countBytes = req.length;
        return this.#afterReset(() => this.#backend.write(req.offset, buf));
      }
      case "flush":
        return this.#flush();
      case "get-id":
        entry.data = this.#serial.subarray(0, Math.min(req.length, BLK_ID_BYTES));
        return;
      case "discard":
        entry.countKey = "bytesDiscarded";
        entry.countBytes = totalLength(req.ranges);
        return this.#afterReset(() => inOrder(req.ranges, (r) => this.#backend.discard(r.offset, r.length)));
      case "write-zeroes":
        entry.countKey = "bytesZeroed";
        entry.countBytes = totalLength(req.ranges);
        return this.#afterReset(() => inOrder(req.ranges, (r) => this.#backend.writeZeroes(r.offset, r.length)));
    }
  }

  /** Queues held back by the budget take requests again, while there is room. */
  #resumeWaiting(): void {
    for (const qs of [...this.#waitingForBudget]) {
      if (this.#counters.inFlightBytes >= this.#maxInFlightBytes) return;
      this.#waitingForBudget.delete(qs);
      this.#pump(qs);
    }
  }

  /** Runs backend work now, or once the work started before the last reset has settled. */
  #afterReset(io: () => MaybePromise): MaybePromise {
    const barrier = this.#barrier;
    return barrier === null ? io() : barrier.then(io);
  }

  /**
   * A FLUSH covers every write the backend has started (before the last reset too), so it
   * waits for those first. The list is taken now: the flush's own work joins #pending after.
   */
  #flush(): MaybePromise {
    if (this.#pending.size === 0 && this.#barrier === null) return this.#backend.flush();
    const earlier: Promise<unknown>[] = [...this.#pending];
    if (this.#barrier !== null) earlier.push(this.#barrier);
    return Promise.allSettled(earlier).then(() => this.#backend.flush());
  }

  /** Puts finished requests at the head of the FIFO on the used ring; returns how many. */
  #retire(qs: QueueState): number {
    const c = this.#counters;
    let n = 0;
    while (qs.fifo.length > 0 && qs.fifo[0]!.done) {
      const e = qs.fifo.shift()!;
      e.retired = true;
      c.inFlightBytes -= e.heldBytes;
      let written = 0;
      if (e.status === BLK_S.OK && e.data !== null) {
        written = qs.vq.writeTo(e.chain, 0, e.data);
        if (written !== e.data.length) {
          countError(c, "short-copy");
          e.status = BLK_S.IOERR;
        }
      }
      e.data = null;
      if (e.statusOffset !== null) written += qs.vq.writeTo(e.chain, e.statusOffset, STATUS_BYTE[e.status]!);
      qs.vq.push(e.chain, written);
      if (e.status === BLK_S.OK && e.countKey !== null) c[e.countKey] += e.countBytes;
      c.completed++;
      n++;
      if (!e.async && this.#spare.length < MAX_SPARE_PENDING) this.#spare.push(e);
    }
    return n;
  }

  #borrowScratch(entry: Pending, length: number): Uint8Array {
    if (this.#scratch.length < length) this.#setScratch(new Uint8Array(Math.max(length, MIN_SCRATCH)));
    entry.usesScratch = true;
    entry.heldBytes = length;
    this.#counters.inFlightBytes += length;
    let view = this.#scratchViews.get(length);
    if (view === undefined) {
      if (this.#scratchViews.size >= MAX_SCRATCH_VIEWS) this.#scratchViews.clear();
      view = this.#scratch.subarray(0, length);
      this.#scratchViews.set(length, view);
    }
    return view;
  }

  #setScratch(buffer: Uint8Array): void {
    this.#scratch = buffer;
    this.#scratchViews.clear();
  }

  /** A Pending for `chain`, from the spares when there is one. */
  #newPending(chain: DescriptorChain, statusOffset: number | null): Pending {
    const e = this.#spare.pop();
    if (e === undefined) {
      return {
        chain, statusOffset, status: BLK_S.IOERR, data: null, usesScratch: false, heldBytes: 0,
        done: false, retired: false, countKey: null, countBytes: 0, async: false,
      };
    }
    // The fields are readonly to the rest of the device; only here are they set again.
    const m = e as { -readonly [K in keyof Pending]: Pending[K] };
    m.chain = chain;
    m.statusOffset = statusOffset;
    m.status = BLK_S.IOERR;
    m.data = null;
    m.usesScratch = false;
    m.heldBytes = 0;
    m.done = false;
    m.retired = false;
    m.countKey = null;
    m.countBytes = 0;
    m.async = false;
    return e;
  }

  /** Forgets every request in flight; their late completions find a newer generation. */
  #dropInFlight(): void {
    if (this.#pending.size > 0) {
      const older = this.#barrier === null ? [...this.#pending] : [...this.#pending, this.#barrier];
      const barrier: Promise<unknown> = Promise.allSettled(older).then(() => {
        if (this.#barrier === barrier) this.#barrier = null;
      });
      this.#barrier = barrier;
    }
    this.#generation++;
    this.#pending.clear();
    this.#waitingForBudget.clear();
    this.#counters.inFlight = 0;
    this.#counters.inFlightBytes = 0;
    // An async read may still be filling the scratch buffer: never reuse it.
    this.#setScratch(EMPTY);
  }
}

function totalLength(ranges: readonly ByteRange[]): number {
  let sum = 0;
  for (const r of ranges) sum += r.length;
  return sum;
}

/** Runs `step` over `items` one after another, going async only if a step does. */
function inOrder<T>(items: readonly T[], step: (item: T) => MaybePromise): MaybePromise {
  for (let i = 0; i < items.length; i++) {
    const r = step(items[i]!);
    if (isPromise(r)) return r.then(() => inOrder(items.slice(i + 1), step));
  }
}

function positive(name: string, value: number, max: number): number {
  return range(name, value, 1, max);
}

function range(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} ${value} not in [${min}, ${max}]`);
  return value;
}
