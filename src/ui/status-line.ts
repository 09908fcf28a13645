// A VM's status line: machine state, how long the guest has run (pauses not counted, so the
// figure stops while the VM is paused), guest memory, the interrupt mode its drivers took, its
// address.

export type MachineState = "loading" | "booting" | "running" | "paused" | "stopped" | "error";

export interface StatusElements {
  state: HTMLElement;
  uptime: HTMLElement;
  memory: HTMLElement;
  mode: HTMLElement;
  ip: HTMLElement;
}

const TICKING: ReadonlySet<MachineState> = new Set(["booting", "running"]);

export class StatusLine {
  #state: MachineState = "loading";
  readonly #el: StatusElements;
  /** Milliseconds run before the current stretch, and when the current stretch began. */
  #ranMs = 0;
  #since: number | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(el: StatusElements) {
    this.#el = el;
  }

  get state(): MachineState {
    return this.#state;
  }

  /** Guest running time in ms: what the uptime shows. */
  get ranMs(): number {
    return this.#ranMs + (this.#since === null ? 0 : performance.now() - this.#since);
  }

  set(state: MachineState): void {
    const ticking = TICKING.has(state);
    if (ticking && this.#since === null) this.#since = performance.now();
    if (!ticking && this.#since !== null) {
      this.#ranMs += performance.now() - this.#since;
      this.#since = null;
    }
    this.#state = state;
    this.#el.state.textContent = state;
    this.#el.state.dataset["state"] = state;
    this.#showUptime();
  }

  /** A new machine: the clock starts again from zero. `asked`: the interrupts the page asked for. */
  begin(memoryMB: number, asked: string, ip: string | null): void {
    this.#ranMs = 0;
    this.#since = null;
    this.#el.memory.textContent = `${memoryMB} MiB RAM`;
    this.showMode(`asking for ${asked}`, "none");
    this.#el.ip.textContent = ip ? `IP ${ip}` : "";
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#showUptime(), 1000);
  }

  /** The interrupt mode the drivers took (`mode` for tests and styles: queue, table, line, mixed, none). */
  showMode(text: string, mode: string): void {
    if (this.#el.mode.textContent !== text) this.#el.mode.textContent = text;
    this.#el.mode.dataset["mode"] = mode;
  }

  #showUptime(): void {
    if (this.#timer === undefined) return; // no machine yet
    const s = Math.floor(this.ranMs / 1000);
    this.#el.uptime.textContent = `up ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    this.#el.uptime.dataset["seconds"] = String(s);
  }
}
