// A disk image in a file, for the headless runner. Synchronous I/O on one descriptor: the
// device then finishes each batch inside notify(), and the guest sees a plain local disk.

import * as fs from "node:fs";
import { assertInRange, type BlockBackend } from "../devices/blk/backend.ts";

export interface FileBackendOptions {
  /** Open the file read-only; the device then offers VIRTIO_BLK_F_RO. Default false. */
  readOnly?: boolean;
}

const ZERO_PIECE = 1024 * 1024;

export class FileBackend implements BlockBackend {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  #fd: number | null;
  #zeros: Uint8Array | null = null;

  constructor(path: string, options: FileBackendOptions = {}) {
    this.path = path;
    this.readOnly = options.readOnly ?? false;
    this.#fd = fs.openSync(path, this.readOnly ? "r" : "r+");
    try {
      const st = fs.fstatSync(this.#fd);
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      this.size = st.size;
    } catch (err) {
      fs.closeSync(this.#fd);
      throw err;
    }
  }

  read(offset: number, dest: Uint8Array): void {
    assertInRange(offset, dest.length, this.size);
    const fd = this.#open();
    let done = 0;
    while (done < dest.length) {
      const n = fs.readSync(fd, dest, done, dest.length - done, offset + done);
      if (n === 0) {
        // The file shrank under us: what is gone reads as zeros, as past a sparse end.
        dest.fill(0, done);
        return;
      }
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    this.#checkWritable();
    assertInRange(offset, src.length, this.size);
    const fd = this.#open();
    let done = 0;
    while (done < src.length) done += fs.writeSync(fd, src, done, src.length - done, offset + done);
  }

  flush(): void {
    if (!this.readOnly) fs.fsyncSync(this.#open());
  }

  /** Node has no portable hole punching; leaving the bytes is a valid discard. */
  discard(offset: number, length: number): void {
    this.#checkWritable();
    assertInRange(offset, length, this.size);
  }

  writeZeroes(offset: number, length: number): void {
    this.#checkWritable();
    assertInRange(offset, length, this.size);
    this.#zeros ??= new Uint8Array(ZERO_PIECE);
    for (let at = offset; at < offset + length; at += ZERO_PIECE) {
      this.write(at, this.#zeros.subarray(0, Math.min(ZERO_PIECE, offset + length - at)));
    }
  }

  close(): void {
    if (this.#fd === null) return;
    fs.closeSync(this.#fd);
    this.#fd = null;
  }

  #open(): number {
    if (this.#fd === null) throw new Error(`${this.path} is closed`);
    return this.#fd;
  }

  #checkWritable(): void {
    if (this.readOnly) throw new Error(`${this.path} is open read-only`);
  }
}
