// The data buffer virtio-blk lends to requests: a read fills it before completion copies it into
// the guest's buffers, a write takes the guest's bytes into it before the backend does. A sync
// request gives it back at once, so the steady state allocates nothing; a request that goes
// async keeps it, and the next borrower gets a new one.

const EMPTY = new Uint8Array(0);
/** The smallest buffer made, so small requests do not each grow it. */
const MIN_SCRATCH = 64 * 1024;
/** Views kept by length (requests come in a few sizes). */
const MAX_SCRATCH_VIEWS = 16;

export class ScratchBuffer {
  #buffer: Uint8Array = EMPTY;
  /** Views of #buffer by length, so a request borrows it without making a subarray. */
  #views = new Map<number, Uint8Array>();

  /** The first `length` bytes of the buffer, grown first if it is shorter. */
  borrow(length: number): Uint8Array {
    if (this.#buffer.length < length) this.#replace(new Uint8Array(Math.max(length, MIN_SCRATCH)));
    let view = this.#views.get(length);
    if (view === undefined) {
      if (this.#views.size >= MAX_SCRATCH_VIEWS) this.#views.clear();
      view = this.#buffer.subarray(0, length);
      this.#views.set(length, view);
    }
    return view;
  }

  /** The last borrower keeps the buffer (its work is still in flight): never lend it again. */
  handOver(): void {
    this.#replace(EMPTY);
  }

  #replace(buffer: Uint8Array): void {
    this.#buffer = buffer;
    this.#views.clear();
  }
}
