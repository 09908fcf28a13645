// A BlockStore in the browser's IndexedDB, so a page reload keeps what the guest wrote.
// Browser-only: nothing here runs until open() is called.

import type { BlockStore, OverlayMeta, SavedOverlay, StoredBlock } from "../devices/blk/store.ts";
import { done, settle } from "./idb-requests.ts";

const META = "meta";
const BLOCKS = "blocks";
const META_KEY = "overlay";

export class IdbBlockStore implements BlockStore {
  readonly #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database `name`; one database per disk. */
  static async open(name: string, factory: IDBFactory | undefined = globalThis.indexedDB): Promise<IdbBlockStore> {
    if (factory === undefined) throw new Error("IndexedDB is not available here");
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      if (!db.objectStoreNames.contains(BLOCKS)) db.createObjectStore(BLOCKS);
    };
    const db = await settle(request);
    return new IdbBlockStore(db);
  }

  async load(): Promise<SavedOverlay | null> {
    const tx = this.#db.transaction([META, BLOCKS], "readonly");
    const store = tx.objectStore(BLOCKS);
    // All three requests go out together, while the transaction is surely active. The two
    // block lists come back in key order, so they pair up index by index.
    const [meta, keys, values] = await Promise.all([
      settle(tx.objectStore(META).get(META_KEY)) as Promise<OverlayMeta | undefined>,
      settle(store.getAllKeys()),
      settle(store.getAll()),
    ]);
    if (meta === undefined) return null;
    const blocks = new Map<number, StoredBlock>();
    keys.forEach((key, i) => {
      const value: unknown = values[i];
      if (typeof key === "number" && (value === null || value instanceof Uint8Array)) blocks.set(key, value);
    });
    return { meta, blocks };
  }

  save(meta: OverlayMeta, blocks: ReadonlyMap<number, StoredBlock>): Promise<void> {
    // put() clones its value on the spot, so later guest writes cannot tear a saved block.
    // Overlay blocks are whole ArrayBuffers, never views into a larger one, so no extra bytes get cloned.
    const tx = this.#db.transaction([META, BLOCKS], "readwrite");
    tx.objectStore(META).put({ imageId: meta.imageId, size: meta.size, blockSize: meta.blockSize }, META_KEY);
    const store = tx.objectStore(BLOCKS);
    for (const [index, bytes] of blocks) store.put(bytes, index);
    return done(tx);
  }

  clear(): Promise<void> {
    const tx = this.#db.transaction([META, BLOCKS], "readwrite");
    tx.objectStore(META).clear();
    tx.objectStore(BLOCKS).clear();
    return done(tx);
  }

  close(): void {
    this.#db.close();
  }
}
