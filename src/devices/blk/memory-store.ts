// A BlockStore in memory: for tests, and for runs that want an overlay without persistence
// but with the same code path.

import type { BlockStore, OverlayMeta, SavedOverlay, StoredBlock } from "./store.ts";

export class MemoryBlockStore implements BlockStore {
  #meta: OverlayMeta | null = null;
  readonly #blocks = new Map<number, StoredBlock>();
  /** Number of save() calls, for tests. */
  saves = 0;

  async load(): Promise<SavedOverlay | null> {
    if (this.#meta === null) return null;
    return { meta: this.#meta, blocks: new Map(this.#blocks) };
  }

  async save(meta: OverlayMeta, blocks: ReadonlyMap<number, StoredBlock>): Promise<void> {
    this.saves++;
    this.#meta = meta;
    for (const [index, bytes] of blocks) this.#blocks.set(index, bytes === null ? null : bytes.slice());
  }

  async clear(): Promise<void> {
    this.#meta = null;
    this.#blocks.clear();
  }
}
