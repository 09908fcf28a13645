// Where a block device's bytes live. Backends know storage, never virtio.

/** Sync backends return undefined; async ones return a promise. */
export type MaybePromise = void | Promise<void>;

/**
 * A disk image. The device only calls it with ranges inside [0, size) and keeps the buffers
 * it passes untouched until the returned promise settles; a backend may keep neither after.
 * Errors are reported by throwing or rejecting: the device turns them into IOERR.
 */
export interface BlockBackend {
  /** Size in bytes. The device exposes floor(size / 512) sectors. */
  readonly size: number;
  /** True when writes, discards and write-zeroes must be refused. */
  readonly readOnly: boolean;
  /** Fills `dest` with the bytes at [offset, offset + dest.length). */
  read(offset: number, dest: Uint8Array): MaybePromise;
  write(offset: number, src: Uint8Array): MaybePromise;
  /** Makes every write that completed before this call durable. */
  flush(): MaybePromise;
  /** The range's contents become unspecified; backends here either zero it or ignore it. */
  discard(offset: number, length: number): MaybePromise;
  /** The range reads as zeros afterwards. */
  writeZeroes(offset: number, length: number): MaybePromise;
}

/** True when a backend call (or any maybe-async step) went asynchronous. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** Throws unless [offset, offset + length) lies inside a disk of `size` bytes. For our own bugs. */
export function assertInRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset > size - length) {
    throw new RangeError(`range ${offset}+${length} outside a ${size}-byte disk`);
  }
}
