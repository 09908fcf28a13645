// The status line: machine state, uptime, guest memory, interrupt mode.
import type { Machine } from "../platform/machine.ts";
import type { PageSettings } from "./settings.ts";

export type MachineState = "loading" | "booting" | "running" | "paused" | "stopped" | "error";

export class StatusLine {
  state: MachineState = "loading";
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly stateEl: HTMLElement,
    readonly uptimeEl: HTMLElement,
    readonly memoryEl: HTMLElement,
    readonly modeEl: HTMLElement,
  ) {}

  set(state: MachineState): void {
    this.state = state;
    this.stateEl.textContent = state;
    this.stateEl.dataset["state"] = state;
  }

  attach(machine: Machine, settings: PageSettings): void {
    this.memoryEl.textContent = `${settings.memoryMB} MiB RAM`;
    this.modeEl.textContent = settings.msi ? "MSI offered" : "MSI off (line)";
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      const s = Math.floor((Date.now() - machine.startedAt) / 1000);
      this.uptimeEl.textContent = `up ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }, 1000);
  }
}
