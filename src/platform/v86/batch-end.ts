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
// v86 zeroes the counter when the guest reboots (its reset_cpu, through cpu.reboot_internal: the
// keyboard controller's reset line, port 0xCF9, its own restart). A reboot inside a batch that
// holds an advance would leave the counter at 0 - STEP = 0xC0000000 after the settle, so the
// patch below settles first, then lets v86 reset.
//
// The guest is never interrupted inside its access: the access completes as usual, and the work
// runs between instructions, where it always ran (docs/virtio-mmio-msi.md, "When an interrupt
// reaches the CPU").

import type { V86Cpu } from "./internals.ts";
import { MethodSwap, type UninstallOutcome, type V86Patch } from "./patch.ts";

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

/** The part of v86's CPU a batch end needs: its reboot, which zeroes the counter. */
export interface V86Reboot {
  reboot_internal(): void;
}

/**
 * The batch end as a patch: the advance itself needs no change to v86 (it is a write to the
 * counter), but v86's reboot must see the counter settled, so cpu.reboot_internal is wrapped.
 */
export class BatchEndPatch implements V86Patch {
  readonly name = "batch-end";
  readonly batchEnd: BatchEnd;
  readonly #cpu: Pick<V86Cpu, "instruction_counter"> & V86Reboot;
  readonly #swap: MethodSwap<V86Reboot, "reboot_internal">;
  /** Reboots that came while an advance was pending (each one settled first). */
  rebootsWhilePending = 0;

  constructor(cpu: Pick<V86Cpu, "instruction_counter"> & V86Reboot, counter: () => Uint32Array) {
    this.#cpu = cpu;
    this.batchEnd = new BatchEnd(counter);
    this.#swap = new MethodSwap<V86Reboot, "reboot_internal">(cpu, "reboot_internal");
  }

  get installed(): boolean {
    return this.#swap.installed;
  }

  install(): void {
    this.#swap.install((original) => {
      const reboot = original.bind(this.#cpu);
      return () => {
        if (this.batchEnd.pending) this.rebootsWhilePending++;
        this.batchEnd.settle();
        reboot();
      };
    });
  }

  uninstall(): UninstallOutcome {
    this.batchEnd.settle();
    return this.#swap.uninstall();
  }

  selfCheck(): string[] {
    const problems: string[] = [];
    if (typeof this.#cpu.reboot_internal !== "function") problems.push("cpu.reboot_internal is not a function");
    else if (this.installed && !this.#swap.live) problems.push("cpu.reboot_internal was replaced by someone else after us");
    const c = this.#cpu.instruction_counter;
    if (!(c instanceof Uint32Array) && typeof (c as { length?: unknown })?.length !== "number") problems.push("cpu.instruction_counter is not a word view");
    return problems;
  }
}
