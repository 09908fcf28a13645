// The one rule for when an interrupt may reach the CPU (docs/virtio-mmio-msi.md, "When an
// interrupt reaches the CPU"). Devices deliver at once, wherever they are (a completion from a
// task, or a command inside the guest's register access that releases held events); only the
// step that lets v86's CPU take the interrupt (moving an IO-APIC input, which makes v86 call
// handle_irqs(), or poking the local APIC after an MSI) can wait. It waits exactly when the
// guest is inside its own MMIO access to our devices with interrupts enabled (EFLAGS.IF): an
// interrupt taken there would run the guest's handler in the middle of the instruction that
// made the access. With IF clear the CPU cannot take it, so the move happens at once, as on
// hardware (a handler writing InterruptACK runs with IF clear and sees the line drop at once).

export interface InterruptGateOptions {
  /** True while v86 is inside a guest MMIO access to our devices. */
  readonly inGuestAccess: () => boolean;
  /** EFLAGS.IF: the CPU would take an interrupt now. */
  readonly interruptsEnabled: () => boolean;
  /** Runs a function after the current access has returned (the platform's task queue). */
  readonly later: (fn: () => void) => void;
}

export interface InterruptGateCounters {
  /** Steps that had to wait until the access returned. */
  waited: number;
}

export class InterruptGate {
  readonly counters: InterruptGateCounters = { waited: 0 };
  readonly #inGuestAccess: () => boolean;
  readonly #interruptsEnabled: () => boolean;
  readonly #later: (fn: () => void) => void;

  constructor(o: InterruptGateOptions) {
    this.#inGuestAccess = o.inGuestAccess;
    this.#interruptsEnabled = o.interruptsEnabled;
    this.#later = o.later;
  }

  /** Must a step that lets the CPU take an interrupt wait until the access returns? */
  get mustWait(): boolean {
    return this.#inGuestAccess() && this.#interruptsEnabled();
  }

  /** Runs `step` now, or after the access when the rule says it must wait. */
  run(step: () => void): void {
    if (this.mustWait) this.defer(step);
    else step();
  }

  /** Runs `step` after the access whatever the rule says (to keep it behind steps already waiting). */
  defer(step: () => void): void {
    this.counters.waited++;
    this.#later(step);
  }
}
