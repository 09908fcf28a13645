// Writes to v86's local APIC struct inside its wasm memory: the MSI router sets IRR/TMR bits
// there (local-apic.ts), as v86's own deliver() does, then asks the CPU to take the interrupt
// (`cpu.handle_irqs()`). The struct's layout is checked against the running v86 at install,
// before the first instruction, while every word still holds its power-on value
// (apic-layout.ts); after that, selfCheck tests what can be tested on a running machine.

import { APIC_STRUCT_WORDS } from "../local-apic.ts";
import { apicProbeOf, verifyApicLayout } from "./apic-layout.ts";
import { V86_VERSION, type V86Cpu } from "./internals.ts";
import type { UninstallOutcome, V86Patch } from "./patch.ts";
import { WasmWordsView } from "./wasm-view.ts";

export class ApicWrites implements V86Patch {
  readonly name = "apic-writes";
  readonly #cpu: V86Cpu;
  readonly #verify: boolean;
  #view: WasmWordsView | null = null;

  /** `verify`: check the layout at install (needed when anything will write: MSI on). */
  constructor(cpu: V86Cpu, verify: boolean) {
    this.#cpu = cpu;
    this.#verify = verify;
  }

  get installed(): boolean {
    return this.#view !== null;
  }

  /** Throws, naming what differs, when the struct is not laid out as this build expects. */
  install(): void {
    if (this.#view) return;
    const view = new WasmWordsView(this.#cpu.wasm_memory, this.#cpu.get_apic_addr(), APIC_STRUCT_WORDS);
    if (this.#verify) verifyApicLayout(apicProbeOf(this.#cpu, view.words), V86_VERSION);
    this.#view = view;
  }

  uninstall(): UninstallOutcome {
    this.#view = null;
    return "nothing";
  }

  /** The struct's words (over the wasm memory's current buffer). */
  words = (): Int32Array => {
    if (!this.#view) throw new Error("apic-writes: not installed");
    return this.#view.words;
  };

  /** Lets the CPU take a pending interrupt now if it can. */
  poke = (): void => this.#cpu.handle_irqs();

  selfCheck(): string[] {
    const cpu = this.#cpu;
    if (typeof cpu.get_apic_addr !== "function" || typeof cpu.get_state_apic !== "function") return ["cpu.get_apic_addr or cpu.get_state_apic is missing"];
    if (typeof cpu.handle_irqs !== "function") return ["cpu.handle_irqs is not a function"];
    const state = cpu.get_state_apic();
    const problems: string[] = [];
    if (state.byteLength !== APIC_STRUCT_WORDS * 4) problems.push(`get_state_apic() is ${state.byteLength} bytes, expected ${APIC_STRUCT_WORDS * 4}`);
    if (this.#view) {
      const words = this.#view.words;
      if (state.byteOffset !== words.byteOffset) problems.push("get_state_apic() no longer starts where our view does");
    }
    return problems;
  }
}
