// A VM's state and how long its guest has run: the clock runs while the guest boots or runs and
// stops while it is paused, stopped or failed, so the status line's uptime stops with it. A new
// machine starts it from zero. Pure (the time source is passed in): unit-tested.

export type MachineState = "loading" | "booting" | "running" | "paused" | "stopped" | "error";

const TICKING: ReadonlySet<MachineState> = new Set(["booting", "running"]);

export class RunClock {
  readonly #now: () => number;
  #state: MachineState = "loading";
  /** Milliseconds run before the current stretch, and when the current stretch began. */
  #ranMs = 0;
  #since: number | null = null;
  #begun = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  get state(): MachineState {
    return this.#state;
  }

  /** Whether a machine has begun (before that there is no running time to show). */
  get begun(): boolean {
    return this.#begun;
  }

  /** Guest running time in ms. */
  get ranMs(): number {
    return this.#ranMs + (this.#since === null ? 0 : this.#now() - this.#since);
  }

  set(state: MachineState): void {
    const ticking = TICKING.has(state);
    if (ticking && this.#since === null) this.#since = this.#now();
    if (!ticking && this.#since !== null) {
      this.#ranMs += this.#now() - this.#since;
      this.#since = null;
    }
    this.#state = state;
  }

  /** A new machine: the clock starts again from zero (and runs once the state ticks). */
  begin(): void {
    this.#ranMs = 0;
    this.#since = null;
    this.#begun = true;
  }
}
