// An IO-APIC (and PIC) input driven by one device. The device asserts it while it has
// something to report (InterruptStatus non-zero) and pulses it low-high on an ACK that leaves
// bits set. How the IO-APIC treats it depends on the trigger mode the guest's ACPI tables give
// the input (the guest's ACPI MADT, built by SeaBIOS under v86, overrides IRQs 5, 10 and 11 to
// level-triggered, active high; 7 keeps the ISA default, edge-triggered):
//   level (5, 10, 11)  v86 delivers while the input is high and the previous delivery was
//                      EOI'd: a line still high at the EOI is delivered again
//   edge (7)           v86 delivers on a low-to-high move of an unmasked input only
// A kernel that finds the devices through our SSDT (src/firmware/acpi-ssdt.ts) programs each line as its
// extended interrupt descriptor says instead, level-triggered and active-high, IRQ 7 included.
// v86 calls handle_irqs() on every move, so when a move may happen is the platform's one rule
// (InterruptGate): inside the guest's MMIO access with IF set it waits for the access to
// return, and moves queued behind it keep their order (a lower-then-raise stays an edge).

import type { InterruptLine } from "../virtio/interfaces.ts";
import type { InterruptGate } from "./interrupt-gate.ts";

export interface V86IrqPins {
  device_raise_irq(n: number): void;
  device_lower_irq(n: number): void;
}

export interface IrqLineCounters {
  raised: number;
  lowered: number;
}

export class IrqLine implements InterruptLine {
  readonly irq: number;
  readonly counters: IrqLineCounters = { raised: 0, lowered: 0 };
  readonly #pins: V86IrqPins;
  readonly #gate: InterruptGate;
  /** Moves queued and not yet made; later moves queue behind them to keep the order. */
  #queued = 0;

  constructor(pins: V86IrqPins, irq: number, gate: InterruptGate) {
    this.#pins = pins;
    this.irq = irq;
    this.#gate = gate;
  }

  raise(): void {
    this.counters.raised++;
    this.#move(true);
  }

  lower(): void {
    this.counters.lowered++;
    this.#move(false);
  }

  #move(up: boolean): void {
    const apply = (): void => {
      if (up) this.#pins.device_raise_irq(this.irq);
      else this.#pins.device_lower_irq(this.irq);
    };
    if (this.#queued === 0 && !this.#gate.mustWait) {
      apply();
      return;
    }
    this.#queued++;
    this.#gate.defer(() => {
      this.#queued--;
      apply();
    });
  }
}
