// A block backend that answers later, in an order the fuzzer picks: every call waits until
// release(), which runs a random share of the waiting calls in random order (some of them
// failing, when asked), the way a slow network or IndexedDB finishes I/O out of order. A write
// reads its source only when it runs: the device promised to leave the buffer alone until then.

import type { BlockBackend } from "../devices/blk/backend.ts";
import type { Prng } from "../testing/prng.ts";

interface Call {
  readonly run: () => void;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class DeferredDisk implements BlockBackend {
  readonly counters = { calls: 0, completed: 0, failed: 0 };
  readonly #inner: BlockBackend;
  #waiting: Call[] = [];

  constructor(inner: BlockBackend) {
    this.#inner = inner;
  }

  get size(): number {
    return this.#inner.size;
  }
  get readOnly(): boolean {
    return this.#inner.readOnly;
  }
  get waiting(): number {
    return this.#waiting.length;
  }

  read(offset: number, dest: Uint8Array): Promise<void> {
    return this.#defer(() => void this.#inner.read(offset, dest));
  }
  write(offset: number, src: Uint8Array): Promise<void> {
    return this.#defer(() => void this.#inner.write(offset, src));
  }
  flush(): Promise<void> {
    return this.#defer(() => void this.#inner.flush());
  }
  discard(offset: number, length: number): Promise<void> {
    return this.#defer(() => void this.#inner.discard(offset, length));
  }
  writeZeroes(offset: number, length: number): Promise<void> {
    return this.#defer(() => void this.#inner.writeZeroes(offset, length));
  }

  /** Runs about `share` of the waiting calls, in random order; each fails with `failRate`. */
  release(rng: Prng, share: number, failRate: number): void {
    const now = this.#waiting;
    const keep: Call[] = [];
    const go: Call[] = [];
    for (const c of now) (rng.chance(share) ? go : keep).push(c);
    this.#waiting = keep;
    for (let i = go.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [go[i], go[j]] = [go[j]!, go[i]!];
    }
    for (const c of go) {
      if (rng.chance(failRate)) {
        this.counters.failed++;
        c.reject(new Error("injected I/O error"));
        continue;
      }
      try {
        c.run();
        this.counters.completed++;
        c.resolve();
      } catch (e) {
        c.reject(e);
      }
    }
  }

  #defer(run: () => void): Promise<void> {
    this.counters.calls++;
    return new Promise<void>((resolve, reject) => this.#waiting.push({ run, resolve, reject }));
  }
}

/** Lets every promise reaction that is ready run (a macrotask comes after all microtasks). */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
