// virtio-blk's backend work that went async, and the two orderings it needs beyond each queue's
// completion order: a FLUSH covers every write the backend has started (on any queue, and
// before the last reset too), and work from before a reset lands before any work after it. The
// backend cannot take work back, so without that barrier an old write could land after (and
// over) a newer one the driver already saw complete.

import { isPromise, type MaybePromise } from "./backend.ts";

export class BackendWork {
  /** Async backend operations not yet settled; a FLUSH waits for all of them first. */
  readonly #pending = new Set<Promise<void>>();
  /**
   * Settles once the work started before the last reset has. Null when nothing old is in
   * flight.
   */
  #barrier: Promise<unknown> | null = null;

  /** Nothing is in flight, from this life or an earlier one. */
  get idle(): boolean {
    return this.#pending.size === 0 && this.#barrier === null;
  }

  /** Runs backend work now, or once the work started before the last reset has settled. */
  afterReset(io: () => MaybePromise): MaybePromise {
    const barrier = this.#barrier;
    return barrier === null ? io() : barrier.then(io);
  }

  /**
   * Runs `flush` once every operation started so far has settled. The list is taken now: the
   * flush's own work joins the pending set after.
   */
  flush(flush: () => MaybePromise): MaybePromise {
    if (this.idle) return flush();
    const earlier: Promise<unknown>[] = [...this.#pending];
    if (this.#barrier !== null) earlier.push(this.#barrier);
    return Promise.allSettled(earlier).then(flush);
  }

  /** An operation in flight, until `settled`. */
  add(op: Promise<void>): void {
    this.#pending.add(op);
  }

  settled(op: Promise<void>): void {
    this.#pending.delete(op);
  }

  /** Settles once nothing is in flight. */
  async quiesce(): Promise<void> {
    while (!this.idle) {
      await Promise.allSettled([...this.#pending, ...(this.#barrier === null ? [] : [this.#barrier])]);
    }
  }

  /**
   * A queue reset: work started from now on waits for `ops` (the reset queue's work in flight,
   * which stays pending for FLUSH and quiesce), so an abandoned write cannot land over a newer one.
   */
  fence(ops: readonly Promise<void>[]): void {
    if (ops.length === 0) return;
    const older: Promise<unknown>[] = this.#barrier === null ? [...ops] : [...ops, this.#barrier];
    const barrier: Promise<unknown> = Promise.allSettled(older).then(() => {
      if (this.#barrier === barrier) this.#barrier = null;
    });
    this.#barrier = barrier;
  }

  /** A reset: everything in flight becomes the barrier the next life's work waits for. */
  reset(): void {
    if (this.#pending.size > 0) {
      const older = this.#barrier === null ? [...this.#pending] : [...this.#pending, this.#barrier];
      const barrier: Promise<unknown> = Promise.allSettled(older).then(() => {
        if (this.#barrier === barrier) this.#barrier = null;
      });
      this.#barrier = barrier;
    }
    this.#pending.clear();
  }
}

/** Runs `step` over `items` one after another, going async only if a step does. */
export function inOrder<T>(items: readonly T[], step: (item: T) => MaybePromise): MaybePromise {
  for (let i = 0; i < items.length; i++) {
    const r = step(items[i]!);
    if (isPromise(r)) return r.then(() => inOrder(items.slice(i + 1), step));
  }
}
