// Saved machines kept in the browser's IndexedDB ("resume where I left"): one state file's bytes
// per key (a VM of the page), with when it was kept. Browser-only: nothing runs until open().
// A record read back is checked for shape; what is inside the bytes is the state file's reader's
// business (src/machine/state-file.ts).

import { done, settle } from "./idb-requests.ts";

const STATES = "states";

export interface KeptState {
  readonly bytes: Uint8Array;
  /** Milliseconds since the epoch. */
  readonly savedAt: number;
}

export class IdbStateStore {
  readonly #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  static async open(name: string, factory: IDBFactory | undefined = globalThis.indexedDB): Promise<IdbStateStore> {
    if (factory === undefined) throw new Error("IndexedDB is not available here");
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STATES)) request.result.createObjectStore(STATES);
    };
    return new IdbStateStore(await settle(request));
  }

  /** The state kept under `key`, or null (none, or a record of another shape). */
  async get(key: string): Promise<KeptState | null> {
    const tx = this.#db.transaction(STATES, "readonly");
    const value: unknown = await settle(tx.objectStore(STATES).get(key));
    if (typeof value !== "object" || value === null) return null;
    const { bytes, savedAt } = value as Record<string, unknown>;
    if (!(bytes instanceof Uint8Array) || typeof savedAt !== "number" || !Number.isFinite(savedAt)) return null;
    return { bytes, savedAt };
  }

  /** Keeps `bytes` under `key` (replacing what was there); resolves once it is durable. */
  put(key: string, bytes: Uint8Array, savedAt: number = Date.now()): Promise<void> {
    const tx = this.#db.transaction(STATES, "readwrite");
    tx.objectStore(STATES).put({ bytes, savedAt }, key);
    return done(tx);
  }

  delete(key: string): Promise<void> {
    const tx = this.#db.transaction(STATES, "readwrite");
    tx.objectStore(STATES).delete(key);
    return done(tx);
  }

  close(): void {
    this.#db.close();
  }
}
