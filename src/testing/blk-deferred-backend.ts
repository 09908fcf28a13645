// Test helper: wraps a backend so every call goes async and finishes only when the test says
// so (or on the next microtask with `auto`). Lets tests pick the order in which I/O completes.

import type { BlockBackend, MaybePromise } from "../devices/blk/backend.ts";

export interface DeferredCall {
  readonly op: "read" | "write" | "flush" | "discard" | "writeZeroes";
  readonly offset: number;
  readonly length: number;
  /** Runs the inner operation, then resolves. */
  release(): void;
  /** Rejects without touching the inner backend. */
  fail(error?: unknown): void;
  settled: boolean;
}

export class DeferredBackend implements BlockBackend {
  readonly calls: DeferredCall[] = [];
  /** Release every call on the next microtask instead of waiting for the test. */
  auto = false;

  constructor(readonly inner: BlockBackend) {}

  get size(): number {
    return this.inner.size;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  /** Calls not yet released or failed, oldest first. */
  get waiting(): DeferredCall[] {
    return this.calls.filter((c) => !c.settled);
  }

  read(offset: number, dest: Uint8Array): Promise<void> {
    return this.#defer("read", offset, dest.length, () => this.inner.read(offset, dest));
  }
  write(offset: number, src: Uint8Array): Promise<void> {
    // Copied now: the test may release after the caller reused its buffer, which a real
    // async backend must not rely on either way.
    const copy = src.slice();
    return this.#defer("write", offset, src.length, () => this.inner.write(offset, copy));
  }
  flush(): Promise<void> {
    return this.#defer("flush", 0, 0, () => this.inner.flush());
  }
  discard(offset: number, length: number): Promise<void> {
    return this.#defer("discard", offset, length, () => this.inner.discard(offset, length));
  }
  writeZeroes(offset: number, length: number): Promise<void> {
    return this.#defer("writeZeroes", offset, length, () => this.inner.writeZeroes(offset, length));
  }

  releaseAll(): void {
    for (const c of this.waiting) c.release();
  }

  #defer(op: DeferredCall["op"], offset: number, length: number, run: () => MaybePromise): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call: DeferredCall = {
        op,
        offset,
        length,
        settled: false,
        release: () => {
          if (call.settled) return;
          call.settled = true;
          try {
            Promise.resolve(run()).then(resolve, reject);
          } catch (err) {
            reject(err);
          }
        },
        fail: (error: unknown = new Error("injected I/O error")) => {
          if (call.settled) return;
          call.settled = true;
          reject(error);
        },
      };
      this.calls.push(call);
      if (this.auto) queueMicrotask(call.release);
    });
  }
}
