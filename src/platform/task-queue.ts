// Work that must run after the guest's current MMIO access has returned: processing a queue
// after QueueNotify, moving an interrupt line, letting the CPU take an interrupt. v86 calls
// `cpu.run_hardware_timers` between batches of guest instructions, outside any instruction;
// the platform drains the queue there (low latency, `drainFromHook`) and from a host task as a
// fallback when the CPU is idle. Both paths are counted: replacing run_hardware_timers relies on
// v86 looking it up on the CPU at every call, and if a v86 stops doing that the hook goes silent,
// every drain comes from the fallback, and `onHookSilent` says so.

/**
 * Host drains in a row that found work with no hook call in between, before the hook counts as
 * silent. A running v86 calls the hook thousands of times a second (7,600 calls for 59 tasks in
 * a boot and an 8 MiB disk read under Node, all 59 drained by the hook), so even a few hundred in
 * a row do not happen while it works.
 */
export const HOOK_SILENT_AFTER = 200;

export interface TaskQueueOptions {
  /** Called on each host drain once HOOK_SILENT_AFTER of them in a row found work and the hook never ran in between. */
  onHookSilent?: (hostDrainsSinceHook: number) => void;
}

export class TaskQueue {
  #tasks: Array<() => void> = [];
  #armed = false;
  readonly #arm: (drain: () => void) => void;
  readonly #onError: (error: unknown) => void;
  readonly #onHookSilent: ((hostDrainsSinceHook: number) => void) | undefined;
  #hostDrainsSinceHook = 0;
  /** Tasks run, for the counters. */
  ran = 0;
  /** Calls of `drainFromHook` (v86's timer hook), whether or not anything was pending. */
  hookCalls = 0;
  /** Hook calls that found work. */
  hookDrains = 0;
  /** Host-task fallback drains that found work (the hook had not got there first). */
  hostDrains = 0;

  constructor(arm: (drain: () => void) => void, onError: (error: unknown) => void, o: TaskQueueOptions = {}) {
    this.#arm = arm;
    this.#onError = onError;
    this.#onHookSilent = o.onHookSilent;
  }

  schedule(task: () => void): void {
    this.#tasks.push(task);
    if (!this.#armed) {
      this.#armed = true;
      this.#arm(() => this.#drainFromHost());
    }
  }

  /** The fast path: v86's timer hook, between batches of guest instructions. */
  drainFromHook(): void {
    this.hookCalls++;
    this.#hostDrainsSinceHook = 0;
    if (this.#tasks.length === 0) return;
    this.hookDrains++;
    this.drain();
  }

  /** Runs every queued task, including those that tasks queue, in order. */
  drain(): void {
    this.#armed = false;
    // Bounded: a task that keeps queueing itself yields to the guest after this many.
    for (let budget = 10_000; this.#tasks.length > 0 && budget > 0; budget--) {
      const task = this.#tasks.shift()!;
      this.ran++;
      try {
        task();
      } catch (error) {
        this.#onError(error);
      }
    }
    if (this.#tasks.length > 0 && !this.#armed) {
      this.#armed = true;
      this.#arm(() => this.#drainFromHost());
    }
  }

  #drainFromHost(): void {
    if (this.#tasks.length > 0) {
      this.hostDrains++;
      if (++this.#hostDrainsSinceHook >= HOOK_SILENT_AFTER) this.#onHookSilent?.(this.#hostDrainsSinceHook);
    }
    this.drain();
  }

  get pending(): number {
    return this.#tasks.length;
  }
}

/** A host-task scheduler that does not suffer the 4 ms clamp of nested setTimeout(0). */
export function hostTaskArm(): (drain: () => void) => void {
  // Node's setImmediate where there is one (browsers have none: taken once, as a value).
  const immediate = typeof setImmediate === "function" ? setImmediate : undefined;
  if (immediate !== undefined) return (drain) => void immediate(drain);
  const channel = new MessageChannel();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return (drain) => {
    waiting.push(drain);
    channel.port2.postMessage(null);
  };
}
