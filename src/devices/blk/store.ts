// Where an overlay keeps the blocks the guest wrote, so they outlive the page.

/** Which image an overlay belongs to: a saved overlay is only laid back on the same one. */
export interface OverlayMeta {
  readonly imageId: string;
  readonly size: number;
  readonly blockSize: number;
}

/** A saved block: its bytes, or null when it reads as zeros (discarded or zeroed). */
export type StoredBlock = Uint8Array | null;

export interface SavedOverlay {
  readonly meta: OverlayMeta;
  readonly blocks: ReadonlyMap<number, StoredBlock>;
}

export interface BlockStore {
  /** Everything saved, or null when the store is empty. */
  load(): Promise<SavedOverlay | null>;
  /**
   * Records `meta` and the given blocks, replacing older copies of them; resolves once they are
   * durable. The arrays may change after save() returns (the guest keeps writing): a store
   * must copy them before the first await, or accept whichever newer bytes it sees, since the
   * overlay marks a block dirty again whenever it changes.
   */
  save(meta: OverlayMeta, blocks: ReadonlyMap<number, StoredBlock>): Promise<void>;
  /** Forgets everything. */
  clear(): Promise<void>;
}
