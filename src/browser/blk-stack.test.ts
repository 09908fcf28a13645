// The browser's disk stack end to end: BlockDevice over an OverlayBackend with a store, over a
// lazy HttpRangeBackend, driven through the real transport.

import { describe, expect, it } from "vitest";
import { TestDriver, type AddedChain } from "../testing/test-driver.ts";
import { BLK_S, BLK_T } from "../devices/blk/constants.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { HttpRangeBackend, type FetchLike } from "./http-range-backend.ts";
import { MemoryBlockStore } from "../devices/blk/memory-store.ts";
import { OverlayBackend } from "../devices/blk/overlay-backend.ts";

const IMAGE = new Uint8Array(512 * 1024).map((_, i) => (i * 7 + (i >> 12)) & 0xff);

const serve: FetchLike = async (_url, init) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(init.headers["Range"] ?? "")!;
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), IMAGE.length - 1);
  await new Promise((r) => setTimeout(r, 1)); // a network is never synchronous
  return {
    status: 206,
    headers: { get: (n: string) => (n.toLowerCase() === "content-range" ? `bytes ${start}-${end}/${IMAGE.length}` : null) },
    arrayBuffer: async () => IMAGE.slice(start, end + 1).buffer,
  };
};

function request(d: TestDriver, type: number, sector: number, o: { out?: Uint8Array; inLen?: number } = {}): AddedChain {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setUint32(8, sector, true);
  return d.addChain(0, { readable: [h, ...(o.out ? [o.out] : [])], writable: [...(o.inLen ? [o.inLen] : []), 1] });
}

/** Notifies, then waits (bounded) until `count` requests came back. */
async function run(d: TestDriver, count = 1): Promise<{ id: number; len: number }[]> {
  d.notify(0);
  d.runTasks();
  const used: { id: number; len: number }[] = [];
  for (let i = 0; i < 100 && used.length < count; i++) {
    await new Promise((r) => setTimeout(r, 2));
    d.runTasks();
    used.push(...d.takeUsed(0));
  }
  return used;
}

async function open(store: MemoryBlockStore) {
  const http = await HttpRangeBackend.open("http://x/disk.img", { fetch: serve, chunkSize: 64 * 1024 });
  const overlay = await OverlayBackend.open(http, { store, imageId: "x" });
  const dev = new BlockDevice({ backend: overlay });
  const d = new TestDriver({ device: dev });
  expect(d.init().ok).toBe(true);
  return { http, overlay, dev, d };
}

describe("device + overlay + HTTP image", () => {
  it("reads lazily, writes copy-on-write, and a flush survives a reload", async () => {
    const store = new MemoryBlockStore();
    const a = await open(store);
    // A read across a chunk boundary (64 KiB) from the server.
    const r = request(a.d, BLK_T.IN, 120, { inLen: 8192 });
    expect(await run(a.d)).toEqual([{ id: r.head, len: 8193 }]);
    expect(a.d.read(r.writable[0]!.addr, 8192)).toEqual(IMAGE.subarray(61440, 69632));
    // A 512-byte write into the middle of a 4 KiB block, then a flush.
    const w = request(a.d, BLK_T.OUT, 130, { out: new Uint8Array(512).fill(0xab) });
    const f = request(a.d, BLK_T.FLUSH, 0);
    const used = await run(a.d, 2);
    expect(used.map((u) => u.id)).toEqual([w.head, f.head]);
    expect([a.d.read(w.writable[0]!.addr, 1)[0], a.d.read(f.writable[0]!.addr, 1)[0]]).toEqual([BLK_S.OK, BLK_S.OK]);
    expect(store.saves).toBe(1);

    // "Reload": a new stack over the same store sees the write.
    const b = await open(store);
    const r2 = request(b.d, BLK_T.IN, 128, { inLen: 4096 });
    expect(await run(b.d)).toEqual([{ id: r2.head, len: 4097 }]);
    const expected = IMAGE.slice(65536, 69632);
    expected.fill(0xab, 1024, 1536);
    expect(b.d.read(r2.writable[0]!.addr, 4096)).toEqual(expected);
    expect(b.dev.counters.errors).toBe(0);
  });
});
