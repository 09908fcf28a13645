// Ends v86's current batch of guest instructions soon after the guest's MMIO access queued
// device work, so that work runs (and its interrupt reaches the CPU) at once instead of after
// the rest of the batch.
//
// v86 runs the guest in batches: its main loop runs instructions until the instruction counter
// has advanced about 100,000 (LOOP_COUNTER in its cpu.rs) past where the batch started, or the
// CPU halts, and only then calls run_hardware_timers, where the platform drains deferred device
// work (task-queue.ts). A QueueNotify early in a batch therefore waited for up to 100,000 guest
// instructions that had nothing to do with it, and the guest went on doing that work (often its
// own idle path) in the meantime. The loop's test is on the counter, so advancing the counter by
// STEP during the access makes the batch end after the current instruction (interpreted code) or
// the current compiled block (v86's compiled code adds its own count to the counter in memory at
// its exits, so the advance survives them). The timer hook takes STEP back before the batch's
// caller, or anything else, reads the counter: counts stay exact.
//
// The guest is never interrupted inside its access: the access completes as usual, and the work
// runs between instructions, where it always ran (docs/virtio-mmio-msi.md, "When an interrupt
// reaches the CPU").

/**
 * What the counter is advanced by: far beyond any batch (so the loop's unsigned difference is
 * at least its limit) and far below 2^32 (so that difference cannot wrap around).
 */
export const BATCH_END_STEP = 0x4000_0000;

export class BatchEnd {
  readonly #counter: () => Uint32Array;
  #owed = 0;
  /** Batches ended early, for the counters. */
  requests = 0;

  /** `counter`: v86's instruction counter, one word (a view of its wasm memory, looked up each use). */
  constructor(counter: () => Uint32Array) {
    this.#counter = counter;
  }

  /** Ends the current batch after the current instruction or compiled block. Idempotent until `settle`. */
  request(): void {
    if (this.#owed !== 0) return;
    const c = this.#counter();
    c[0] = (c[0]! + BATCH_END_STEP) >>> 0;
    this.#owed = BATCH_END_STEP;
    this.requests++;
  }

  /** Takes the advance back: first thing in the timer hook, and before anything reads the counter. */
  settle(): void {
    if (this.#owed === 0) return;
    const c = this.#counter();
    c[0] = (c[0]! - this.#owed) >>> 0;
    this.#owed = 0;
  }

  /** Whether the counter is advanced now (between a request and the next settle). */
  get pending(): boolean {
    return this.#owed !== 0;
  }
}
