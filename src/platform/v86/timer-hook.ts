// The timer hook: v86's wasm calls `cpu.run_hardware_timers` between batches of guest
// instructions, through an import that looks the method up on the CPU object each time. We put
// our function there to settle a batch end and drain deferred device work (task-queue.ts) at
// that boundary, outside any instruction, then call v86's own.

import type { V86Cpu } from "./internals.ts";
import { MethodSwap, type UninstallOutcome, type V86Patch } from "./patch.ts";

export class TimerHook implements V86Patch {
  readonly name = "timer-hook";
  readonly #cpu: V86Cpu;
  readonly #before: () => void;
  readonly #swap: MethodSwap<V86Cpu, "run_hardware_timers">;
  /** Calls of our hook since install. */
  calls = 0;

  /** `before` runs first at every batch boundary. */
  constructor(cpu: V86Cpu, before: () => void) {
    this.#cpu = cpu;
    this.#before = before;
    this.#swap = new MethodSwap(cpu, "run_hardware_timers");
  }

  get installed(): boolean {
    return this.#swap.installed;
  }

  /** Whether v86's CPU holds our hook now (false after someone else replaced it). */
  get live(): boolean {
    return this.#swap.live;
  }

  /** Uninstalls that found another hook in our place and left it there. */
  get displaced(): number {
    return this.#swap.displaced;
  }

  install(): void {
    this.#swap.install((original) => {
      const own = original.bind(this.#cpu);
      return (acpiEnabled: boolean, now: number) => {
        this.calls++;
        this.#before();
        return own(acpiEnabled, now);
      };
    });
  }

  uninstall(): UninstallOutcome {
    return this.#swap.uninstall();
  }

  selfCheck(): string[] {
    const problems: string[] = [];
    if (typeof this.#cpu.run_hardware_timers !== "function") problems.push("cpu.run_hardware_timers is not a function");
    else if (this.installed && !this.live) problems.push("cpu.run_hardware_timers was replaced by someone else after us");
    return problems;
  }
}
