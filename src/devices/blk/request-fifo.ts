// Each queue's requests in the order the device took them, and their completion. A request is
// done whenever its backend work is, but goes on the used ring only when every request before it
// on its queue has: so a FLUSH stays behind the writes before it, and a sync backend finishes a
// whole batch inside one notify. Completion writes the data (reads, GET_ID) and the status byte,
// then counts. The records are pooled: a retired request that never went async is reused, so the
// steady state allocates none.

import type { DescriptorChain, Virtqueue } from "../../virtio/interfaces.ts";
import { BLK_S } from "./constants.ts";
import { countError, type BlockCounters } from "./counters.ts";

/** A request taken off a queue, waiting for its turn to complete. */
export interface Pending {
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

/** One running queue: its requests in the order taken. */
export interface QueueState {
  readonly vq: Virtqueue;
  readonly fifo: Pending[];
  /** The chain being parsed, for `read` (one reader per queue instead of a closure per request). */
  parsing: DescriptorChain | null;
  readonly read: (offset: number, dest: Uint8Array) => number;
  /** This queue's backend work still in flight (a queue reset fences new work behind it). */
  readonly work: Set<Promise<void>>;
  /** The queue was reset (docs/virtio-mmio-msi-v3.md, "Queue reset"): late completions land nowhere. */
  dropped: boolean;
}

export function queueState(vq: Virtqueue): QueueState {
  const qs: QueueState = {
    vq,
    fifo: [],
    parsing: null,
    read: (offset, dest) => (qs.parsing === null ? 0 : vq.readFrom(qs.parsing, offset, dest)),
    work: new Set(),
    dropped: false,
  };
  return qs;
}

/** Retired requests kept for reuse. */
const MAX_SPARE_PENDING = 256;
const STATUS_BYTE = [Uint8Array.of(BLK_S.OK), Uint8Array.of(BLK_S.IOERR), Uint8Array.of(BLK_S.UNSUPP)];

/** Request records, reused once retired. */
export class PendingPool {
  #spare: Pending[] = [];

  /** A fresh record for `chain` (status IOERR until the request succeeds), from the spares when there is one. */
  take(chain: DescriptorChain, statusOffset: number | null): Pending {
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

  /** A retired record back for reuse; one that went async is left to its promise callbacks. */
  give(e: Pending): void {
    if (!e.async && this.#spare.length < MAX_SPARE_PENDING) this.#spare.push(e);
  }
}

/**
 * Puts finished requests at the head of the queue's FIFO on its used ring (data, status byte),
 * counts them and gives their records back to `pool`; returns how many. Does not signal.
 */
export function retire(qs: QueueState, c: BlockCounters, pool: PendingPool): number {
  let n = 0;
  if (qs.dropped) return 0;
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
    pool.give(e);
  }
  return n;
}
