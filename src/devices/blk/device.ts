// virtio-blk: takes requests off its queues, runs them against a BlockBackend and completes
// them. Knows nothing of registers or how interrupts travel (the transport does).
//
// A request's way: parsed (request.ts), its backend work started (here; async work and the
// orderings it needs: backend-work.ts), completed in its queue's order (request-fifo.ts: each
// queue completes its requests in the order it took them, even when the backend answers out of
// order). Data goes through a buffer the device lends (scratch-buffer.ts). Requests in flight
// hold at most `maxInFlightBytes`; a queue that hits the budget waits for room.

import type { ActivationContext, DescriptorChain, VirtioDevice, Virtqueue } from "../../virtio/interfaces.ts";
import { isPromise, type BlockBackend, type MaybePromise } from "./backend.ts";
import { BackendWork, inOrder } from "./backend-work.ts";
import { blockConfigSpace, blockFeatures, readConfigBytes, type BlockGeometry } from "./config.ts";
import { BLK_CONFIG_SIZE, BLK_ID_BYTES, BLK_S, REQUEST_HEADER_SIZE, SECTOR_SIZE } from "./constants.ts";
import { countError, countRequestType, newBlockCounters, type BlockCounters, type ExecErrorKind } from "./counters.ts";
import { parseRequest, type BlkRequest, type ByteRange, type ParseResult, type RequestLimits } from "./request.ts";
import { PendingPool, queueState, retire, type Pending, type QueueState } from "./request-fifo.ts";
import { ScratchBuffer } from "./scratch-buffer.ts";

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

/** Why a request failed after it parsed; anything else thrown counts as a backend error. */
class ExecError extends Error {
  constructor(readonly kind: ExecErrorKind) {
    super(kind);
  }
}

const MAX_CAPACITY_SECTORS = 2 ** 44; // keeps every byte offset a safe integer

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
  readonly #work = new BackendWork();
  /** Queues that stopped taking requests on a full in-flight budget (any queue's, not only theirs). */
  readonly #waitingForBudget = new Set<QueueState>();
  /** Reused for sync requests; handed over to a request that has to keep it. */
  readonly #scratch = new ScratchBuffer();
  readonly #pool = new PendingPool();
  /** The backend's flush, made once (a FLUSH hands it to #work). */
  readonly #backendFlush = (): MaybePromise => this.#backend.flush();

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
  quiesce(): Promise<void> {
    return this.#work.quiesce();
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
    // A queue restored in the middle of a queue reset counts as set up (enableQueue follows).
    if (ctx.queues.length + (ctx.reopened?.length ?? 0) < 1) return "virtio-blk needs at least one queue";
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

  /**
   * Queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset", D10): the queue's requests are
   * forgotten. Those whose backend work is still under way complete into nothing: no data into
   * guest memory, no used-ring entry, no interrupt (their QueueState is marked dropped, and the
   * transport closed the ring). The work itself cannot be called back, so new backend work on
   * any queue waits for it (BackendWork.fence). Other queues go on as they were.
   */
  resetQueue(index: number): void {
    const qs = this.#queues?.[index];
    if (qs === undefined) return;
    const c = this.#counters;
    qs.dropped = true;
    this.#queues![index] = undefined;
    this.#waitingForBudget.delete(qs);
    for (const e of qs.fifo) {
      c.inFlightBytes -= e.heldBytes;
      if (e.async && !e.done) c.inFlight--;
    }
    c.droppedByQueueReset += qs.fifo.length;
    qs.fifo.length = 0;
    this.#work.fence([...qs.work]);
    // Queues held back by the budget go on when the abandoned work settles (their new work
    // would wait behind it anyway), not inside the reset: a reset has no other effect.
  }

  /** A reset queue set up again: it takes requests from its new ring. */
  enableQueue(vq: Virtqueue): void {
    const queues = this.#queues;
    if (queues === null || !Number.isInteger(vq.index) || vq.index < 0 || vq.index >= this.queueMaxSizes.length) return;
    queues[vq.index] = queueState(vq);
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
      pushed += retire(qs, this.#counters, this.#pool);
      for (;;) {
        if (this.#counters.inFlightBytes >= this.#maxInFlightBytes) {
          // Its driver will not notify again for chains already in the ring: resume it later.
          this.#waitingForBudget.add(qs);
          break;
        }
        const chain = qs.vq.pop();
        if (chain === null) break;
        const entry = this.#start(qs, chain);
        pushed += retire(qs, this.#counters, this.#pool);
        // Still queued (async, or behind an async one): it keeps the buffer it borrowed.
        if (entry.usesScratch && !entry.retired) this.#scratch.handOver();
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
    const entry = this.#pool.take(chain, parsed.statusOffset);
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
        this.#work.settled(tracked);
        qs.work.delete(tracked);
        // Its queue was reset meanwhile: resetQueue took it off the books already.
        if (qs.dropped) {
          this.#resumeWaiting();
          return;
        }
        c.inFlight--;
        entry.done = true;
        this.#pump(qs);
        this.#resumeWaiting();
      })
      .catch(() => {
        // #pump only throws on our own bug; a rejection here must not go unhandled.
      });
    this.#work.add(tracked);
    qs.work.add(tracked);
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
        return this.#work.afterReset(() => this.#backend.read(req.offset, buf));
      }
      case "out": {
        const buf = this.#borrowScratch(entry, req.length);
        if (qs.vq.readFrom(entry.chain, REQUEST_HEADER_SIZE, buf) !== req.length) throw new ExecError("short-copy");
        entry.countKey = "bytesWritten";
        entry.countBytes = req.length;
        return this.#work.afterReset(() => this.#backend.write(req.offset, buf));
      }
      case "flush":
        // A FLUSH covers every write the backend has started, so it waits for those first.
        return this.#work.flush(this.#backendFlush);
      case "get-id":
        entry.data = this.#serial.subarray(0, Math.min(req.length, BLK_ID_BYTES));
        return;
      case "discard":
        entry.countKey = "bytesDiscarded";
        entry.countBytes = totalLength(req.ranges);
        return this.#work.afterReset(() => inOrder(req.ranges, (r) => this.#backend.discard(r.offset, r.length)));
      case "write-zeroes":
        entry.countKey = "bytesZeroed";
        entry.countBytes = totalLength(req.ranges);
        return this.#work.afterReset(() => inOrder(req.ranges, (r) => this.#backend.writeZeroes(r.offset, r.length)));
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

  /** Lends the scratch buffer to `entry`, which holds its bytes of the in-flight budget until it retires. */
  #borrowScratch(entry: Pending, length: number): Uint8Array {
    const view = this.#scratch.borrow(length);
    entry.usesScratch = true;
    entry.heldBytes = length;
    this.#counters.inFlightBytes += length;
    return view;
  }

  /** Forgets every request in flight; their late completions find a newer generation. */
  #dropInFlight(): void {
    this.#work.reset();
    this.#generation++;
    this.#waitingForBudget.clear();
    this.#counters.inFlight = 0;
    this.#counters.inFlightBytes = 0;
    // An async read may still be filling the scratch buffer: never reuse it.
    this.#scratch.handOver();
  }
}

function totalLength(ranges: readonly ByteRange[]): number {
  let sum = 0;
  for (const r of ranges) sum += r.length;
  return sum;
}

function positive(name: string, value: number, max: number): number {
  return range(name, value, 1, max);
}

function range(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} ${value} not in [${min}, ${max}]`);
  return value;
}
