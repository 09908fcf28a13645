import { describe, expect, it } from "vitest";
import { MemoryBackend } from "./memory-backend.ts";
import { MemoryBlockStore } from "./memory-store.ts";
import { OverlayBackend } from "./overlay-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import type { BlockBackend } from "./backend.ts";
import { Prng } from "../../testing/prng.ts";

const SIZE = 64 * 1024;
const pattern = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 13 + seed) & 0xff);

function readSync(b: OverlayBackend, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  expect(b.read(offset, out)).toBeUndefined();
  return out;
}

function baseOf(bytes = pattern(SIZE)) {
  return { bytes, base: new MemoryBackend(bytes.slice(), { readOnly: true }) };
}

describe("OverlayBackend", () => {
  it("reads the base until written, and never writes the base", () => {
    const { bytes, base } = baseOf();
    const o = new OverlayBackend(base);
    expect(o.readOnly).toBe(false);
    expect(readSync(o, 100, 9000)).toEqual(bytes.subarray(100, 9100));
    o.write(4096 + 512, new Uint8Array(512).fill(7)); // partial 4 KiB block: copy-up
    const merged = readSync(o, 4000, 2000);
    const expected = bytes.slice(4000, 6000);
    expected.fill(7, 4608 - 4000, 5120 - 4000);
    expect(merged).toEqual(expected);
    expect(base.bytes).toEqual(bytes);
    expect(o.counters.copyUps).toBe(1);
  });

  it("flush is synchronous without a store or without dirty blocks", async () => {
    const o = new OverlayBackend(baseOf().base);
    o.write(0, new Uint8Array(512));
    expect(o.flush()).toBeUndefined();
    const p = await OverlayBackend.open(baseOf().base, { store: new MemoryBlockStore() });
    expect(p.flush()).toBeUndefined();
    p.write(0, new Uint8Array(512));
    const saving = p.flush();
    expect(saving).toBeInstanceOf(Promise);
    expect(p.flush()).toBeInstanceOf(Promise); // a save still runs: wait for it
    await saving;
    expect(p.flush()).toBeUndefined();
  });

  it("a whole-block write does not read the base", () => {
    const { base } = baseOf();
    const o = new OverlayBackend(base);
    o.write(8192, new Uint8Array(8192).fill(3));
    expect(o.counters.copyUps).toBe(0);
    expect(o.counters.blocks).toBe(2);
    expect(readSync(o, 8192, 8192).every((x) => x === 3)).toBe(true);
  });

  it("records discards and write-zeroes, whole and partial blocks", () => {
    const { bytes, base } = baseOf();
    const o = new OverlayBackend(base);
    o.discard(4096, 8192); // two whole blocks, stored as zero markers
    o.writeZeroes(16384 + 100, 50); // part of a block
    expect(readSync(o, 4096, 8192).every((x) => x === 0)).toBe(true);
    const part = readSync(o, 16384, 4096);
    const expected = bytes.slice(16384, 20480);
    expected.fill(0, 100, 150);
    expect(part).toEqual(expected);
    // Writing into a zeroed block keeps the other zeros.
    o.write(4096 + 10, Uint8Array.of(1, 2));
    expect([...readSync(o, 4096 + 8, 6)]).toEqual([0, 0, 1, 2, 0, 0]);
  });

  it("works at 512-byte granularity and with a short last block", () => {
    const bytes = pattern(5000);
    const o = new OverlayBackend(new MemoryBackend(bytes.slice(), { readOnly: true }), { blockSize: 512 });
    o.write(4608, new Uint8Array(392).fill(9)); // the whole (short) last block
    expect(o.counters.copyUps).toBe(0);
    expect(readSync(o, 4600, 400)).toEqual(Uint8Array.from([...bytes.subarray(4600, 4608), ...new Uint8Array(392).fill(9)]));
    expect(() => o.read(4999, new Uint8Array(2))).toThrow(RangeError);
  });

  it("merges with an async base and keeps concurrent partial writes to one block", async () => {
    const bytes = pattern(SIZE);
    const base = new DeferredBackend(new MemoryBackend(bytes.slice(), { readOnly: true }));
    const o = new OverlayBackend(base);
    const w1 = o.write(0, Uint8Array.of(0xa1));
    const w2 = o.write(1000, Uint8Array.of(0xa2));
    expect(base.waiting).toHaveLength(1); // one copy-up shared by both writes
    base.releaseAll();
    await Promise.all([w1, w2]);
    const r = new Uint8Array(4096 + 16);
    const p = o.read(0, r);
    base.releaseAll(); // the 16 bytes past block 0 come from the base
    await p;
    const expected = bytes.slice(0, 4096 + 16);
    expected[0] = 0xa1;
    expected[1000] = 0xa2;
    expect(r).toEqual(expected);
  });

  it("a whole-block write during a copy-up wins over the base bytes", async () => {
    const base = new DeferredBackend(new MemoryBackend(pattern(SIZE), { readOnly: true }));
    const o = new OverlayBackend(base);
    const partial = o.write(10, Uint8Array.of(5));
    o.write(0, new Uint8Array(4096).fill(1));
    base.releaseAll();
    await partial;
    const r = new Uint8Array(12);
    o.read(0, r);
    expect([...r]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1]);
  });

  it("persists dirty blocks on flush and restores them on open", async () => {
    const { bytes, base } = baseOf();
    const store = new MemoryBlockStore();
    const o = await OverlayBackend.open(base, { store, imageId: "disk-a" });
    o.write(512, new Uint8Array(512).fill(4));
    o.discard(8192, 4096);
    expect(o.counters.dirtyBlocks).toBe(2);
    await o.flush();
    expect(store.saves).toBe(1);
    expect(o.counters.dirtyBlocks).toBe(0);
    await o.flush(); // nothing dirty: no save
    expect(store.saves).toBe(1);

    const again = await OverlayBackend.open(base, { store, imageId: "disk-a" });
    expect(again.counters.restoredBlocks).toBe(2);
    const expected = bytes.slice(0, 16384);
    expected.fill(4, 512, 1024);
    expected.fill(0, 8192, 12288);
    expect(readSync(again, 0, 16384)).toEqual(expected);

    const other = await OverlayBackend.open(base, { store, imageId: "disk-b" });
    expect(other.discardedStaleOverlay).toBe(true);
    expect(readSync(other, 512, 512)).toEqual(bytes.subarray(512, 1024));
    expect(await store.load()).toBeNull();
  });

  it("a failed save leaves the blocks dirty and fails the flush", async () => {
    const store = new MemoryBlockStore();
    const o = await OverlayBackend.open(baseOf().base, { store });
    store.save = async () => {
      throw new Error("quota exceeded");
    };
    o.write(0, new Uint8Array(4096));
    await expect(o.flush()).rejects.toThrow(/quota/);
    expect(o.counters.saveErrors).toBe(1);
    expect(o.counters.dirtyBlocks).toBe(1);
  });

  it("reset() drops the overlay and its store; exportImage() merges everything", async () => {
    const { bytes, base } = baseOf();
    const store = new MemoryBlockStore();
    const o = await OverlayBackend.open(base, { store });
    o.write(0, new Uint8Array(100).fill(8));
    await o.flush();
    const image = await o.exportImage();
    const expected = bytes.slice();
    expected.fill(8, 0, 100);
    expect(image).toEqual(expected);
    await o.reset();
    expect(await store.load()).toBeNull();
    expect(await o.exportImage()).toEqual(bytes);
  });

  it("a whole-disk discard of 1 GiB is one zero run, whatever the disk size", () => {
    // A 1 GiB base that reads as a pattern without holding it.
    const GiB = 1 << 30;
    const base: BlockBackend = {
      size: GiB, readOnly: true,
      read: (offset, dest) => void dest.fill(offset % 251 === 0 ? 1 : 2),
      write: () => { throw new Error("read-only"); },
      flush: () => {}, discard: () => {}, writeZeroes: () => {},
    };
    const o = new OverlayBackend(base);
    o.write(8192, new Uint8Array(4096).fill(5));
    expect(o.discard(0, GiB)).toBeUndefined();
    expect(o.counters).toMatchObject({ blocks: GiB / 4096, zeroRuns: 1 });
    expect(readSync(o, GiB - 4096, 4096).every((x) => x === 0)).toBe(true);
    expect(readSync(o, 8000, 300).every((x) => x === 0)).toBe(true); // the written block went too
    // A write in the middle splits the run; a partial write turns one zero block into bytes.
    o.write(GiB / 2 + 100, Uint8Array.of(9));
    expect(o.counters).toMatchObject({ blocks: GiB / 4096, zeroRuns: 2 });
    expect([...readSync(o, GiB / 2 + 99, 3)]).toEqual([0, 9, 0]);
    expect(o.counters.copyUps).toBe(0); // zeros need no base read
  });

  it("zeroes partial blocks at both ends of a range and whole blocks between as one run", () => {
    const { bytes, base } = baseOf();
    const o = new OverlayBackend(base);
    o.writeZeroes(1000, 20_000); // blocks 1..4 whole, 0 and 5 partial
    expect(o.counters).toMatchObject({ zeroRuns: 1, copyUps: 2, blocks: 6 });
    const expected = bytes.slice(0, 24_576);
    expected.fill(0, 1000, 21_000);
    expect(readSync(o, 0, 24_576)).toEqual(expected);
  });

  it("reads back like a plain disk under 3,000 random writes, discards and zeroings", () => {
    for (const blockSize of [512, 4096]) {
      const rng = new Prng(blockSize);
      const size = 64 * 1024 + 1000; // a short last block too
      const start = pattern(size, 3);
      const o = new OverlayBackend(new MemoryBackend(start.slice(), { readOnly: true }), { blockSize });
      const ref = start.slice();
      for (let n = 0; n < 3_000; n++) {
        const offset = rng.int(size);
        const length = rng.int(Math.min(size - offset, rng.chance(0.2) ? size : 9000) + 1);
        const kind = rng.int(4);
        if (kind === 0) {
          const data = rng.bytes(length);
          o.write(offset, data);
          ref.set(data, offset);
        } else if (kind === 1) {
          o.discard(offset, length);
          ref.fill(0, offset, offset + length);
        } else if (kind === 2) {
          o.writeZeroes(offset, length);
          ref.fill(0, offset, offset + length);
        } else {
          expect(readSync(o, offset, length)).toEqual(ref.subarray(offset, offset + length));
        }
      }
      expect(readSync(o, 0, size)).toEqual(ref);
      expect(o.counters.blocks).toBeLessThanOrEqual(Math.ceil(size / blockSize));
    }
  });

  it("saves zero runs block by block for the store, and restores them as runs", async () => {
    const { bytes, base } = baseOf();
    const store = new MemoryBlockStore();
    const o = await OverlayBackend.open(base, { store });
    o.write(0, new Uint8Array(4096).fill(1));
    o.discard(0, 32_768); // the written block is discarded too: zeros win
    o.write(4096 + 7, Uint8Array.of(2)); // block 1 becomes bytes again
    expect(o.counters.dirtyBlocks).toBe(8);
    await o.flush();
    const saved = (await store.load())!.blocks;
    expect([...saved.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(saved.get(0)).toBeNull();
    expect(saved.get(1)![7]).toBe(2);
    const again = await OverlayBackend.open(base, { store });
    expect(again.counters).toMatchObject({ restoredBlocks: 8, blocks: 8, zeroRuns: 2 });
    const expected = bytes.slice(0, 40_960);
    expected.fill(0, 0, 32_768);
    expected[4096 + 7] = 2;
    expect(readSync(again, 0, 40_960)).toEqual(expected);
  });

  it("a failed save leaves zeroed runs dirty, as zeros", async () => {
    const store = new MemoryBlockStore();
    const o = await OverlayBackend.open(baseOf().base, { store });
    const save = store.save.bind(store);
    store.save = async () => {
      throw new Error("quota exceeded");
    };
    o.discard(8192, 16_384);
    await expect(o.flush()).rejects.toThrow(/quota/);
    expect(o.counters.dirtyBlocks).toBe(4);
    store.save = save;
    await o.flush();
    const saved = (await store.load())!.blocks;
    expect([...saved.entries()]).toEqual([[2, null], [3, null], [4, null], [5, null]]);
  });
});
