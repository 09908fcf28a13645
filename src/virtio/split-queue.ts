// The device side of one split virtqueue (virtio 1.x §2.7). Everything read from the rings is
// guest-controlled and checked before use; a violation is counted by kind, marks the queue
// broken and tells the transport (which sets DEVICE_NEEDS_RESET). Nothing here throws.

import type { DescriptorChain, GuestMemory, Segment, Virtqueue } from "./interfaces.ts";
import { RING, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F } from "./constants.ts";
import { inRange } from "./ram-memory.ts";

/** Largest total byte count of one chain: lengths are u32 in the used ring. */
const MAX_CHAIN_BYTES = 0xffffffff;
/** Largest indirect table: its `next` fields are u16. */
const MAX_INDIRECT_ENTRIES = 0x10000;
/**
 * Longest chain kept in the pool, in segments. Linux's largest: a virtio-blk request with
 * seg_max (254) data segments, its header and status.
 */
const MAX_POOLED_SEGMENTS = 300;

export interface SplitQueueLayout {
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

export interface SplitQueueOptions extends SplitQueueLayout {
  readonly index: number;
  readonly memory: GuestMemory;
  /** VIRTIO_F_EVENT_IDX negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  /** Sends the used-buffer interrupt for this queue (the transport's Interrupts.queue). */
  readonly interrupt: () => void;
  /** Called once, when the queue becomes broken. */
  readonly onBroken: (reason: string) => void;
}

/** Guest errors by kind. `zeroLength` is the only one that does not break the queue. */
export interface SplitQueueErrors {
  availIdx: number;
  headRange: number;
  nextRange: number;
  loop: number;
  outOfRange: number;
  nestedIndirect: number;
  indirectNotNegotiated: number;
  indirectLen: number;
  indirectWithNext: number;
  order: number;
  tooLong: number;
  zeroLength: number;
}
export type SplitQueueErrorKind = keyof SplitQueueErrors;

export interface SplitQueueCounters {
  popped: number;
  pushed: number;
  interrupts: number;
  suppressed: number;
  /** Device bugs, not guest errors: push() with a bad length or a chain from elsewhere. */
  badPush: number;
  errors: SplitQueueErrors;
}

export type LayoutError = "queueSize" | "ringAlign" | "ringOutOfRange";

/** Why a queue layout cannot be used, or null when it can. Checked at QueueReady = 1. */
export function checkLayout(l: SplitQueueLayout, maxSize: number, ramSize: number): LayoutError | null {
  const { size } = l;
  if (!Number.isInteger(size) || size < 1 || size > maxSize || size > RING.MAX_SIZE || (size & (size - 1)) !== 0) {
    return "queueSize";
  }
  if (l.desc % RING.DESC_ALIGN !== 0 || l.avail % RING.AVAIL_ALIGN !== 0 || l.used % RING.USED_ALIGN !== 0) {
    return "ringAlign";
  }
  const ok =
    inRange(l.desc, RING.DESC_SIZE * size, ramSize) &&
    inRange(l.avail, 6 + 2 * size, ramSize) &&
    inRange(l.used, 6 + RING.USED_ELEM_SIZE * size, ramSize);
  return ok ? null : "ringOutOfRange";
}

/**
 * A chain as the queue hands it out. One per head index, reused by the next pop of that head
 * once the device has pushed it, so the steady state allocates nothing. A driver that
 * publishes a head still in flight gets a fresh, unpooled chain for it: the one the device
 * holds must not change under it (the device-model fuzzer's evilChain found exactly that).
 * The segment arrays keep their objects and are only shortened when a chain is shorter than
 * the last one of that head (no length = 0 then push: that reallocates).
 */
class PooledChain implements DescriptorChain {
  head = 0;
  /** Handed out by pop() and not yet pushed. */
  inFlight = false;
  readableLength = 0;
  writableLength = 0;
  readonly readable: MutableSegment[] = [];
  readonly writable: MutableSegment[] = [];
  #nr = 0;
  #nw = 0;

  reset(head: number): void {
    this.head = head;
    this.readableLength = 0;
    this.writableLength = 0;
    this.#nr = 0;
    this.#nw = 0;
  }

  get segments(): number {
    return this.#nr + this.#nw;
  }

  /** Segments added since reset() (the arrays may still hold the last chain's until finish()). */
  get hasWritable(): boolean {
    return this.#nw > 0;
  }

  add(writable: boolean, addr: number, len: number): void {
    const list = writable ? this.writable : this.readable;
    const n = writable ? this.#nw++ : this.#nr++;
    const seg = list[n];
    if (seg === undefined) {
      list.push({ addr, len });
    } else {
      seg.addr = addr;
      seg.len = len;
    }
    if (writable) this.writableLength += len;
    else this.readableLength += len;
  }

  /** Drops entries left over from a longer chain. */
  finish(): void {
    if (this.readable.length > this.#nr) this.readable.length = this.#nr;
    if (this.writable.length > this.#nw) this.writable.length = this.#nw;
  }

  /**
   * A chain too long to keep pooled is handed out as a copy and the pool entry emptied, so a
   * guest that sends huge indirect tables cannot make every head pin thousands of objects.
   */
  detach(): DescriptorChain {
    const copy: DescriptorChain = {
      head: this.head,
      readable: this.readable.map((x) => ({ addr: x.addr, len: x.len })),
      writable: this.writable.map((x) => ({ addr: x.addr, len: x.len })),
      readableLength: this.readableLength,
      writableLength: this.writableLength,
    };
    this.readable.length = 0;
    this.writable.length = 0;
    this.reset(0);
    return copy;
  }
}

interface MutableSegment {
  addr: number;
  len: number;
}

/** A GuestMemory with its optional bulk copies. */
type CopyingMemory = GuestMemory & Required<Pick<GuestMemory, "copyOut" | "copyIn">>;

function hasCopies(m: GuestMemory): m is CopyingMemory {
  return m.copyOut !== undefined && m.copyIn !== undefined;
}

function newErrors(): SplitQueueErrors {
  return {
    availIdx: 0, headRange: 0, nextRange: 0, loop: 0, outOfRange: 0, nestedIndirect: 0,
    indirectNotNegotiated: 0, indirectLen: 0, indirectWithNext: 0, order: 0, tooLong: 0, zeroLength: 0,
  };
}

export class SplitQueue implements Virtqueue {
  readonly index: number;
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  readonly counters: SplitQueueCounters = {
    popped: 0, pushed: 0, interrupts: 0, suppressed: 0, badPush: 0, errors: newErrors(),
  };
  readonly #memory: GuestMemory;
  readonly #copying: CopyingMemory | null;
  /** By head index, created on first use. */
  readonly #chains: (PooledChain | undefined)[] = [];
  readonly #eventIdx: boolean;
  readonly #indirect: boolean;
  readonly #interrupt: () => void;
  readonly #onBroken: (reason: string) => void;
  #lastAvail = 0;
  #nextUsed = 0;
  /** used idx when signalUsed() last decided: the `old` of vring_need_event. */
  #signalled = 0;
  #broken: string | null = null;
  /** Set by the transport's reset: the rings may belong to someone else now. */
  #closed = false;

  constructor(o: SplitQueueOptions) {
    this.index = o.index;
    this.size = o.size;
    this.desc = o.desc;
    this.avail = o.avail;
    this.used = o.used;
    this.#memory = o.memory;
    this.#copying = hasCopies(o.memory) ? o.memory : null;
    this.#eventIdx = o.eventIdx;
    this.#indirect = o.indirect;
    this.#interrupt = o.interrupt;
    this.#onBroken = o.onBroken;
  }

  /** The reason the queue stopped, or null while it works. */
  get broken(): string | null {
    return this.#broken;
  }
  /**
   * Detaches the queue from guest memory for good: after a reset the driver may reuse the ring
   * pages, so a device that still holds this queue (a late backend completion) must not write.
   */
  close(): void {
    this.#closed = true;
  }

  get lastAvailIdx(): number {
    return this.#lastAvail;
  }
  get usedIdx(): number {
    return this.#nextUsed;
  }
  /** used idx when signalUsed() last decided (saved with the queue, transport-state.ts). */
  get signalledIdx(): number {
    return this.#signalled;
  }

  /**
   * Restore hook (transport-state.ts): the indices of a saved queue, on a fresh one before
   * anything was popped. The caller has checked them (u16). A queue saved broken stays broken
   * (the driver was told then; it is not told again).
   */
  restoreIndices(lastAvail: number, nextUsed: number, signalled: number, broken: string | null = null): void {
    this.#lastAvail = lastAvail & 0xffff;
    this.#nextUsed = nextUsed & 0xffff;
    this.#signalled = signalled & 0xffff;
    this.#broken = broken;
  }

  pop(): DescriptorChain | null {
    if (this.#broken !== null || this.#closed) return null;
    const mem = this.#memory;
    const availIdx = mem.readU16(this.avail + 2);
    if (availIdx === null) return this.#fail("outOfRange", "avail ring left RAM");
    const waiting = (availIdx - this.#lastAvail) & 0xffff;
    // More than `size` new entries can only come from a lying driver; trusting it would make
    // the device re-read stale entries forever.
    if (waiting > this.size) return this.#fail("availIdx", `avail idx ${availIdx} jumped ${waiting} > ${this.size}`);
    if (waiting === 0) return null;
    const head = mem.readU16(this.avail + 4 + 2 * (this.#lastAvail & (this.size - 1)));
    if (head === null) return this.#fail("outOfRange", "avail ring left RAM");
    if (head >= this.size) return this.#fail("headRange", `head ${head} >= size ${this.size}`);
    const chain = this.#walk(head);
    if (chain === null) return null;
    this.#lastAvail = (this.#lastAvail + 1) & 0xffff;
    // avail_event: "notify me when you publish past what I have taken".
    if (this.#eventIdx) mem.writeU16(this.used + 4 + RING.USED_ELEM_SIZE * this.size, this.#lastAvail);
    this.counters.popped++;
    return chain;
  }

  #walk(head: number): DescriptorChain | null {
    const mem = this.#memory;
    const ramSize = mem.size;
    let chain = this.#chains[head];
    if (chain === undefined) chain = this.#chains[head] = new PooledChain();
    else if (chain.inFlight) chain = new PooledChain();
    chain.reset(head);
    let table = this.desc;
    let tableLen = this.size;
    let ttl = this.size;
    let i = head;
    let inIndirect = false;
    for (;;) {
      // The time-to-live bounds the walk: a cycle of `next` links cannot hang the device.
      if (ttl-- === 0) return this.#fail("loop", `chain ${head} longer than its table`);
      const base = table + RING.DESC_SIZE * i;
      const lo = mem.readU32(base);
      const hi = mem.readU32(base + 4);
      const len = mem.readU32(base + 8);
      const flagsNext = mem.readU32(base + 12);
      if (lo === null || hi === null || len === null || flagsNext === null) {
        return this.#fail("outOfRange", `descriptor table at ${base} left RAM`);
      }
      const flags = flagsNext & 0xffff;
      const next = flagsNext >>> 16;
      // A 32-bit guest has no RAM above 4 GiB: a non-zero high word is outside RAM.
      if (hi !== 0 || !inRange(lo, len, ramSize)) {
        return this.#fail("outOfRange", `descriptor ${i} [${hi}:${lo}, +${len}) outside RAM`);
      }
      if (flags & VIRTQ_DESC_F.INDIRECT) {
        if (inIndirect) return this.#fail("nestedIndirect", "indirect table inside an indirect table");
        if (!this.#indirect) return this.#fail("indirectNotNegotiated", "INDIRECT without the feature");
        if (flags & VIRTQ_DESC_F.NEXT) return this.#fail("indirectWithNext", "INDIRECT combined with NEXT");
        if (len === 0 || len % RING.DESC_SIZE !== 0 || len / RING.DESC_SIZE > MAX_INDIRECT_ENTRIES) {
          return this.#fail("indirectLen", `indirect table length ${len}`);
        }
        table = lo;
        tableLen = len / RING.DESC_SIZE;
        ttl = tableLen;
        i = 0;
        inIndirect = true;
        continue;
      }
      if (flags & VIRTQ_DESC_F.WRITE) {
        if (len > 0) chain.add(true, lo, len);
      } else {
        if (chain.hasWritable) return this.#fail("order", "readable descriptor after a writable one");
        if (len > 0) chain.add(false, lo, len);
      }
      // Not fatal (the spec does not forbid it), but no sane driver sends one: worth seeing.
      if (len === 0) this.counters.errors.zeroLength++;
      if (chain.readableLength + chain.writableLength > MAX_CHAIN_BYTES) return this.#fail("tooLong", "chain over 4 GiB");
      if (!(flags & VIRTQ_DESC_F.NEXT)) break;
      if (next >= tableLen) return this.#fail("nextRange", `next ${next} >= ${tableLen}`);
      i = next;
    }
    if (chain.segments > MAX_POOLED_SEGMENTS) return chain.detach();
    chain.finish();
    chain.inFlight = true;
    return chain;
  }

  push(chain: DescriptorChain, written: number): void {
    if (chain instanceof PooledChain) chain.inFlight = false;
    if (this.#closed) return;
    let len = written;
    if (!Number.isInteger(len) || len < 0 || len > chain.writableLength) {
      this.counters.badPush++;
      len = Number.isInteger(len) && len > 0 ? Math.min(len, chain.writableLength) : 0;
    }
    if (!Number.isInteger(chain.head) || chain.head < 0 || chain.head >= this.size) {
      this.counters.badPush++;
      return;
    }
    const mem = this.#memory;
    const elem = this.used + 4 + RING.USED_ELEM_SIZE * (this.#nextUsed & (this.size - 1));
    // The element first, then the index that publishes it.
    const ok = mem.writeU32(elem, chain.head) && mem.writeU32(elem + 4, len);
    this.#nextUsed = (this.#nextUsed + 1) & 0xffff;
    if (!ok || !mem.writeU16(this.used + 2, this.#nextUsed)) {
      this.#fail("outOfRange", "used ring left RAM");
      return;
    }
    this.counters.pushed++;
  }

  signalUsed(): void {
    if (this.#closed) return;
    const used = this.#nextUsed;
    const old = this.#signalled;
    this.#signalled = used;
    let want: boolean;
    if (used === old) {
      want = false; // nothing new since the last decision
    } else if (this.#eventIdx) {
      const usedEvent = this.#memory.readU16(this.avail + 4 + 2 * this.size);
      // vring_need_event: did used idx step past used_event since the last decision?
      want = usedEvent !== null && ((used - usedEvent - 1) & 0xffff) < ((used - old) & 0xffff);
    } else {
      const flags = this.#memory.readU16(this.avail);
      want = flags === null || (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    if (!want) {
      this.counters.suppressed++;
      return;
    }
    this.counters.interrupts++;
    this.#interrupt();
  }

  readFrom(chain: DescriptorChain, offset: number, dest: Uint8Array): number {
    return this.#copy(chain.readable, offset, dest, false);
  }

  writeTo(chain: DescriptorChain, offset: number, src: Uint8Array): number {
    return this.#copy(chain.writable, offset, src, true);
  }

  /**
   * Walks `segments` from byte `offset`, copying between guest RAM and `bytes` (into RAM when
   * `toGuest`) piece by piece; stops at the first piece outside RAM. Returns bytes copied.
   * No closures and, with a CopyingMemory, no views: this runs for every request.
   */
  #copy(segments: readonly Segment[], offset: number, bytes: Uint8Array, toGuest: boolean): number {
    if (this.#closed || !Number.isInteger(offset) || offset < 0) return 0;
    const length = bytes.length;
    const fast = this.#copying;
    let skip = offset;
    let done = 0;
    for (let k = 0; k < segments.length && done < length; k++) {
      const seg = segments[k]!;
      if (skip >= seg.len) {
        skip -= seg.len;
        continue;
      }
      const n = Math.min(seg.len - skip, length - done);
      const addr = seg.addr + skip;
      let ok: boolean;
      if (fast !== null) {
        ok = toGuest ? fast.copyIn(addr, bytes, done, n) : fast.copyOut(addr, bytes, done, n);
      } else if (toGuest) {
        ok = this.#memory.write(addr, done === 0 && n === length ? bytes : bytes.subarray(done, done + n));
      } else {
        const src = this.#memory.view(addr, n);
        ok = src !== null;
        if (src !== null) bytes.set(src, done);
      }
      if (!ok) break;
      done += n;
      skip = 0;
    }
    return done;
  }

  #fail(kind: SplitQueueErrorKind, detail: string): null {
    this.counters.errors[kind]++;
    if (this.#broken === null) {
      this.#broken = `queue ${this.index}: ${kind}: ${detail}`;
      try {
        this.#onBroken(this.#broken);
      } catch {
        // The transport's callback must not turn a guest error into an exception.
      }
    }
    return null;
  }
}
