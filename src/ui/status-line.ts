// A VM's status line: machine state, how long the guest has run (pauses not counted, so the
// figure stops while the VM is paused: the session's clock), guest memory, the interrupt mode
// its drivers took, its address.

import type { MachineState } from "../session/run-clock.ts";

export interface StatusElements {
  state: HTMLElement;
  uptime: HTMLElement;
  memory: HTMLElement;
  mode: HTMLElement;
  ip: HTMLElement;
}

export class StatusLine {
  readonly #el: StatusElements;
  /** The guest's running time in ms, read each second. */
  readonly #clock: { readonly ranMs: number };
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(el: StatusElements, clock: { readonly ranMs: number }) {
    this.#el = el;
    this.#clock = clock;
  }

  show(state: MachineState): void {
    this.#el.state.textContent = state;
    this.#el.state.dataset["state"] = state;
    this.#showUptime();
  }

  /** A new machine. `asked`: the interrupts the page asked for. */
  begin(memoryMB: number, asked: string, ip: string | null): void {
    this.#el.memory.textContent = `${memoryMB} MiB RAM`;
    this.showMode(`asking for ${asked}`, "none");
    this.#el.ip.textContent = ip ? `IP ${ip}` : "";
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#showUptime(), 1000);
    this.#showUptime();
  }

  /** The interrupt mode the drivers took (`mode` for tests and styles: queue, table, line, mixed, none). */
  showMode(text: string, mode: string): void {
    if (this.#el.mode.textContent !== text) this.#el.mode.textContent = text;
    this.#el.mode.dataset["mode"] = mode;
  }

  #showUptime(): void {
    if (this.#timer === undefined) return; // no machine yet
    const s = Math.floor(this.#clock.ranMs / 1000);
    this.#el.uptime.textContent = `up ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    this.#el.uptime.dataset["seconds"] = String(s);
  }
}
