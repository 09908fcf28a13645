// Work that must run after the guest's current MMIO access has returned: processing a queue
// after QueueNotify, moving an interrupt line, letting the CPU take an interrupt. v86 calls
// `cpu.run_hardware_timers` between batches of guest instructions, outside any instruction;
// the platform drains the queue there (low latency) and from a host task as a fallback when
// the CPU is idle.

export class TaskQueue {
  #tasks: Array<() => void> = [];
  #armed = false;
  readonly #arm: (drain: () => void) => void;
  readonly #onError: (error: unknown) => void;
  /** Tasks run, for the counters. */
  ran = 0;

  constructor(arm: (drain: () => void) => void, onError: (error: unknown) => void) {
    this.#arm = arm;
    this.#onError = onError;
  }

  schedule(task: () => void): void {
    this.#tasks.push(task);
    if (!this.#armed) {
      this.#armed = true;
      this.#arm(() => this.drain());
    }
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
      this.#arm(() => this.drain());
    }
  }

  get pending(): number {
    return this.#tasks.length;
  }
}

/** A host-task scheduler that does not suffer the 4 ms clamp of nested setTimeout(0). */
export function hostTaskArm(): (drain: () => void) => void {
  if (typeof setImmediate === "function") return (drain) => void setImmediate(drain);
  const channel = new MessageChannel();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return (drain) => {
    waiting.push(drain);
    channel.port2.postMessage(null);
  };
}
