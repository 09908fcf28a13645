// A disk image held in memory. Every call is synchronous, which lets the device finish a whole
// batch of requests inside one notify().

import { assertInRange, type BlockBackend } from "./backend.ts";

export interface MemoryBackendOptions {
  /** Refuse writes (the device then offers VIRTIO_BLK_F_RO). Default false. */
  readOnly?: boolean;
}

export class MemoryBackend implements BlockBackend {
  readonly #bytes: Uint8Array;
  readonly readOnly: boolean;

  /** Uses `image` in place (no copy): writes from the guest land in it. */
  constructor(image: ArrayBuffer | Uint8Array, options: MemoryBackendOptions = {}) {
    this.#bytes = image instanceof Uint8Array ? image : new Uint8Array(image);
    this.readOnly = options.readOnly ?? false;
  }

  /** A zero-filled disk of `size` bytes. */
  static blank(size: number): MemoryBackend {
    return new MemoryBackend(new Uint8Array(size));
  }

  get size(): number {
    return this.#bytes.length;
  }

  /** The live image bytes (for download or inspection). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  read(offset: number, dest: Uint8Array): void {
    assertInRange(offset, dest.length, this.size);
    dest.set(this.#bytes.subarray(offset, offset + dest.length));
  }

  write(offset: number, src: Uint8Array): void {
    this.#checkWritable();
    assertInRange(offset, src.length, this.size);
    this.#bytes.set(src, offset);
  }

  flush(): void {
    // Memory is as durable as it gets.
  }

  discard(offset: number, length: number): void {
    this.writeZeroes(offset, length);
  }

  writeZeroes(offset: number, length: number): void {
    this.#checkWritable();
    assertInRange(offset, length, this.size);
    this.#bytes.fill(0, offset, offset + length);
  }

  #checkWritable(): void {
    if (this.readOnly) throw new Error("memory image is read-only");
  }
}
