// IdbBlockStore against an in-memory IndexedDB (fake-indexeddb implements the W3C API in Node):
// what is saved comes back, later saves add to and overwrite earlier ones, zeroed blocks stay
// null, clear() empties it, and a second open of the same database sees what the first saved
// (what a page reload does).
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { IdbBlockStore } from "./idb-store.ts";
import type { OverlayMeta } from "../devices/blk/store.ts";

const META: OverlayMeta = { imageId: "guest/disk.img#8388608", size: 8 * 1024 * 1024, blockSize: 4096 };
const block = (fill: number) => new Uint8Array(4096).fill(fill);

describe("IdbBlockStore", () => {
  it("loads nothing before the first save", async () => {
    const store = await IdbBlockStore.open("disk-a", new IDBFactory());
    expect(await store.load()).toBeNull();
    store.close();
  });

  it("keeps saves across opens: blocks added and overwritten, zeroed blocks as null", async () => {
    const factory = new IDBFactory();
    const first = await IdbBlockStore.open("disk-b", factory);
    await first.save(META, new Map([[0, block(1)], [7, block(2)], [9, null]]));
    const source = block(3);
    await first.save(META, new Map([[7, source]]));
    source.fill(0xee); // the store keeps its own copy from the moment of save()
    first.close();

    const reopened = await IdbBlockStore.open("disk-b", factory);
    const saved = (await reopened.load())!;
    expect(saved.meta).toEqual(META);
    expect([...saved.blocks.keys()].sort((a, b) => a - b)).toEqual([0, 7, 9]);
    expect(saved.blocks.get(0)).toEqual(block(1));
    expect(saved.blocks.get(7)).toEqual(block(3));
    expect(saved.blocks.get(9)).toBeNull();
    reopened.close();
  });

  it("clear() drops everything; other databases are untouched", async () => {
    const factory = new IDBFactory();
    const a = await IdbBlockStore.open("disk-c", factory);
    const b = await IdbBlockStore.open("disk-d", factory);
    await a.save(META, new Map([[1, block(5)]]));
    await b.save(META, new Map([[2, block(6)]]));
    await a.clear();
    expect(await a.load()).toBeNull();
    expect((await b.load())!.blocks.get(2)).toEqual(block(6));
    a.close();
    b.close();
  });

  it("says so when there is no IndexedDB", async () => {
    await expect(IdbBlockStore.open("x", undefined as unknown as IDBFactory)).rejects.toThrow(/IndexedDB is not available/);
  });
});
