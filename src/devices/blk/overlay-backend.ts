// Copy-on-write over a read-only base image. Written blocks live in the overlay as bytes; blocks
// that were discarded or zeroed whole live as runs of an interval set (a whole-disk discard is
// one run, not an entry per block); reads take each block from the overlay when it has it,
// else from the base. With a BlockStore the overlay survives a page reload: flush() saves the
// dirty blocks.

import { assertInRange, isPromise, type BlockBackend, type MaybePromise } from "./backend.ts";
import { IntervalSet } from "./overlay-intervals.ts";
import type { BlockStore, OverlayMeta, StoredBlock } from "./store.ts";

export interface OverlayBackendOptions {
  /** Granularity of the overlay, a power of two from 512 to 1 MiB. Default 4096. */
  blockSize?: number;
  /** Persistence for the overlay (see OverlayBackend.open). */
  store?: BlockStore;
  /** Names the base image, so a saved overlay is never laid on another. Default: its size. */
  imageId?: string;
}

export function newOverlayCounters() {
  return {
    /** Blocks held (with data or as zeros). */
    blocks: 0,
    /** Runs of whole blocks that read as zeros (what their memory grows with). */
    zeroRuns: 0,
    dirtyBlocks: 0,
    /** Blocks read from the base to complete a partial write. */
    copyUps: 0,
    baseReads: 0,
    saves: 0,
    saveErrors: 0,
    /** Blocks restored from the store at open(). */
    restoredBlocks: 0,
  };
}

const EXPORT_PIECE = 4 * 1024 * 1024;

export class OverlayBackend implements BlockBackend {
  readonly size: number;
  readonly readOnly = false;
  readonly blockSize: number;
  readonly counters = newOverlayCounters();
  /** True when open() found a saved overlay for a different image and dropped it. */
  discardedStaleOverlay = false;
  readonly #base: BlockBackend;
  readonly #meta: OverlayMeta;
  readonly #store: BlockStore | null;
  /** Blocks with bytes. */
  readonly #blocks = new Map<number, Uint8Array>();
  /** Whole blocks that read as zeros, held as runs. Never overlaps #blocks. */
  readonly #zeros = new IntervalSet();
  /** Blocks with bytes not yet saved. */
  readonly #dirty = new Set<number>();
  /** Zeroed blocks not yet saved, as runs. Never overlaps #dirty. */
  readonly #dirtyZeros = new IntervalSet();
  /** Base reads under way for partial writes, one per block. */
  readonly #copying = new Map<number, Promise<Uint8Array>>();
  /** Saves run one after another, so a flush resolves only when every earlier save has. */
  #saving: Promise<void> = Promise.resolve();
  #savesInFlight = 0;

  /** An overlay that lives in memory only. Use open() for one backed by a store. */
  constructor(base: BlockBackend, options: Omit<OverlayBackendOptions, "store"> = {}) {
    this.#base = base;
    this.size = base.size;
    this.blockSize = options.blockSize ?? 4096;
    const bs = this.blockSize;
    if (!Number.isInteger(bs) || bs < 512 || bs > 1 << 20 || (bs & (bs - 1)) !== 0) {
      throw new RangeError(`overlay block size ${bs} is not a power of two in [512, 1 MiB]`);
    }
    this.#meta = { imageId: options.imageId ?? `size:${base.size}`, size: base.size, blockSize: bs };
    this.#store = (options as OverlayBackendOptions).store ?? null;
  }

  /** An overlay persisted in `options.store`, restored from it when it matches this image. */
  static async open(base: BlockBackend, options: OverlayBackendOptions = {}): Promise<OverlayBackend> {
    const overlay = new OverlayBackend(base, options);
    const store = overlay.#store;
    if (store === null) return overlay;
    const saved = await store.load();
    if (saved === null) return overlay;
    const m = saved.meta;
    if (m.imageId !== overlay.#meta.imageId || m.size !== overlay.size || m.blockSize !== overlay.blockSize) {
      overlay.discardedStaleOverlay = true;
      await store.clear();
      return overlay;
    }
    for (const [index, bytes] of saved.blocks) {
      // The store is outside our control: keep only blocks that fit this image.
      if (!Number.isSafeInteger(index) || index < 0 || index * overlay.blockSize >= overlay.size) continue;
      if (bytes !== null && bytes.length !== overlay.#blockLength(index)) continue;
      if (bytes === null) overlay.#zeros.add(index, index + 1);
      else overlay.#blocks.set(index, bytes);
      overlay.counters.restoredBlocks++;
    }
    overlay.#countBlocks();
    return overlay;
  }

  read(offset: number, dest: Uint8Array): MaybePromise {
    assertInRange(offset, dest.length, this.size);
    const end = offset + dest.length;
    const bs = this.blockSize;
    const waits: Promise<void>[] = [];
    let runStart = -1; // start of a stretch that comes from the base, read in one call
    const flushRun = (runEnd: number) => {
      if (runStart < 0) return;
      this.counters.baseReads++;
      const r = this.#base.read(runStart, dest.subarray(runStart - offset, runEnd - offset));
      if (isPromise(r)) waits.push(r);
      runStart = -1;
    };
    for (let at = offset; at < end; ) {
      const index = Math.floor(at / bs);
      const blockStart = index * bs;
      const held = this.#blocks.get(index);
      const zerosEnd = held === undefined ? this.#zeros.runEnd(index) : null;
      if (zerosEnd !== null) {
        // A run of zero blocks in one fill, however long.
        const stop = Math.min(end, zerosEnd * bs);
        flushRun(at);
        dest.fill(0, at - offset, stop - offset);
        at = stop;
        continue;
      }
      const stop = Math.min(end, blockStart + bs);
      if (held === undefined) {
        if (runStart < 0) runStart = at;
      } else {
        flushRun(at);
        dest.set(held.subarray(at - blockStart, stop - blockStart), at - offset);
      }
      at = stop;
    }
    flushRun(end);
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  write(offset: number, src: Uint8Array): MaybePromise {
    assertInRange(offset, src.length, this.size);
    return this.#eachBlock(offset, src.length, (index, from, to) =>
      this.#fill(index, from, to, src.subarray(from - offset, to - offset)),
    );
  }

  discard(offset: number, length: number): MaybePromise {
    // Recorded as zeros: a discarded range must not show the base's old bytes again.
    return this.writeZeroes(offset, length);
  }

  writeZeroes(offset: number, length: number): MaybePromise {
    assertInRange(offset, length, this.size);
    const bs = this.blockSize;
    const end = offset + length;
    // Whole blocks inside the range become one run; the partial blocks at its ends are patched.
    const first = Math.ceil(offset / bs);
    const last = end === this.size ? Math.ceil(end / bs) : Math.floor(end / bs);
    if (first >= last) return this.#eachBlock(offset, length, (index, from, to) => this.#fill(index, from, to, null));
    const waits: MaybePromise[] = [];
    if (offset < first * bs) waits.push(this.#eachBlock(offset, first * bs - offset, (i, from, to) => this.#fill(i, from, to, null)));
    this.#zeroBlocks(first, last);
    const tail = Math.min(end, last * bs);
    if (tail < end) waits.push(this.#eachBlock(tail, end - tail, (i, from, to) => this.#fill(i, from, to, null)));
    const pending = waits.filter(isPromise);
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  /** Saves the dirty blocks to the store (if any); resolves once they and all earlier ones are saved. */
  flush(): MaybePromise {
    const store = this.#store;
    if (store === null) return;
    // Nothing new: wait only for saves still running (none: stay synchronous).
    if (this.#dirty.size === 0 && this.#dirtyZeros.count === 0) return this.#savesInFlight > 0 ? this.#saving : undefined;
    // The store takes one entry per block (null: zeros), so zero runs are spelled out here.
    const batch = new Map<number, StoredBlock>();
    for (const [start, end] of this.#dirtyZeros) for (let i = start; i < end; i++) batch.set(i, null);
    for (const index of this.#dirty) batch.set(index, this.#blocks.get(index) ?? null);
    const zeroRuns = [...this.#dirtyZeros];
    this.#dirty.clear();
    this.#dirtyZeros.clear();
    this.counters.dirtyBlocks = 0;
    this.#savesInFlight++;
    const save = this.#saving.then(() => store.save(this.#meta, batch));
    this.#saving = save.then(
      () => {
        this.#savesInFlight--;
        this.counters.saves++;
      },
      () => {
        this.#savesInFlight--;
        // Unsaved blocks become dirty again, as what they hold now (bytes or zeros).
        this.counters.saveErrors++;
        for (const index of batch.keys()) if (this.#blocks.has(index)) this.#dirty.add(index);
        for (const [start, end] of zeroRuns) this.#markZerosDirty(start, end);
        this.#countDirty();
      },
    );
    return save;
  }

  /** Forgets everything the guest wrote (memory and store). Only while no device uses the disk. */
  async reset(): Promise<void> {
    this.#blocks.clear();
    this.#zeros.clear();
    this.#dirty.clear();
    this.#dirtyZeros.clear();
    this.#countBlocks();
    this.#countDirty();
    await this.#saving;
    if (this.#store !== null) await this.#store.clear();
  }

  /** The whole disk as it reads now, base and overlay merged (for download). */
  async exportImage(): Promise<Uint8Array> {
    const out = new Uint8Array(this.size);
    // In pieces, so a lazy base is asked for a bounded amount at a time.
    for (let at = 0; at < this.size; at += EXPORT_PIECE) {
      await this.read(at, out.subarray(at, Math.min(this.size, at + EXPORT_PIECE)));
    }
    return out;
  }

  /** Calls fn(blockIndex, from, to) for each block piece of [offset, offset+length), in order. */
  #eachBlock(offset: number, length: number, fn: (index: number, from: number, to: number) => MaybePromise): MaybePromise {
    const end = offset + length;
    const waits: Promise<void>[] = [];
    for (let at = offset; at < end; ) {
      const index = Math.floor(at / this.blockSize);
      const to = Math.min(end, index * this.blockSize + this.blockSize);
      const r = fn(index, at, to);
      if (isPromise(r)) waits.push(r);
      at = to;
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  /** Puts `bytes` (null: zeros) at disk range [from, to), which lies inside block `index`. */
  #fill(index: number, from: number, to: number, bytes: Uint8Array | null): MaybePromise {
    const blockStart = index * this.blockSize;
    if (to - from === this.#blockLength(index)) {
      // A whole block: no need for the old contents.
      this.#set(index, bytes === null ? null : bytes.slice());
      return;
    }
    const block = this.#copyUp(index);
    const patch = (b: Uint8Array) => {
      if (bytes === null) b.fill(0, from - blockStart, to - blockStart);
      else b.set(bytes, from - blockStart);
      this.#markDirty(index);
    };
    if (!isPromise(block)) return patch(block);
    return block.then(patch);
  }

  /** The block's bytes, held in the overlay, fetching them from the base first when needed. */
  #copyUp(index: number): Uint8Array | Promise<Uint8Array> {
    const held = this.#held(index);
    if (held !== undefined) return held;
    const copying = this.#copying.get(index);
    if (copying !== undefined) return copying;
    this.counters.copyUps++;
    const fresh = new Uint8Array(this.#blockLength(index));
    const r = this.#base.read(index * this.blockSize, fresh);
    if (!isPromise(r)) {
      this.#set(index, fresh);
      return fresh;
    }
    const p = r.then(
      () => {
        this.#copying.delete(index);
        // A whole-block write may have landed meanwhile: it is newer than the base.
        const now = this.#held(index);
        if (now !== undefined) return now;
        this.#set(index, fresh);
        return fresh;
      },
      (err: unknown) => {
        this.#copying.delete(index);
        throw err;
      },
    );
    this.#copying.set(index, p);
    return p;
  }

  /** The block's bytes if the overlay has it, turning a zero block into real zeros. */
  #held(index: number): Uint8Array | undefined {
    const held = this.#blocks.get(index);
    if (held !== undefined || !this.#zeros.has(index)) return held;
    const zeros = new Uint8Array(this.#blockLength(index));
    this.#set(index, zeros);
    return zeros;
  }

  /** Block `index` holds `bytes` (null: zeros) from now on. */
  #set(index: number, bytes: StoredBlock): void {
    if (bytes === null) {
      this.#zeroBlocks(index, index + 1);
      return;
    }
    this.#zeros.remove(index, index + 1);
    this.#blocks.set(index, bytes);
    this.#countBlocks();
    this.#markDirty(index);
  }

  /** Blocks [first, last) read as zeros from now on: their bytes go, one run takes their place. */
  #zeroBlocks(first: number, last: number): void {
    if (last - first < this.#blocks.size) {
      for (let i = first; i < last; i++) this.#blocks.delete(i);
    } else {
      for (const i of this.#blocks.keys()) if (i >= first && i < last) this.#blocks.delete(i);
    }
    this.#zeros.add(first, last);
    this.#countBlocks();
    this.#markZerosDirty(first, last);
  }

  #markDirty(index: number): void {
    if (this.#store === null) return;
    this.#dirtyZeros.remove(index, index + 1);
    this.#dirty.add(index);
    this.#countDirty();
  }

  #markZerosDirty(first: number, last: number): void {
    if (this.#store === null) return;
    if (last - first < this.#dirty.size) {
      for (let i = first; i < last; i++) this.#dirty.delete(i);
    } else {
      for (const i of this.#dirty) if (i >= first && i < last) this.#dirty.delete(i);
    }
    this.#dirtyZeros.add(first, last);
    this.#countDirty();
  }

  #countBlocks(): void {
    this.counters.blocks = this.#blocks.size + this.#zeros.count;
    this.counters.zeroRuns = this.#zeros.runs;
  }

  #countDirty(): void {
    this.counters.dirtyBlocks = this.#dirty.size + this.#dirtyZeros.count;
  }

  /** The last block is short when the image size is not a multiple of the block size. */
  #blockLength(index: number): number {
    return Math.min(this.blockSize, this.size - index * this.blockSize);
  }
}
