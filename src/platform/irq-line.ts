// An IO-APIC (and PIC) input driven by one device. v86 keeps one level bit per input and
// takes interrupts as soon as a line moves, so a line is only moved outside the guest's MMIO
// access: inside one, the move is queued (in order, so a lower-then-raise still makes an edge).

import type { InterruptLine } from "../virtio/interfaces.ts";

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
  readonly #deferNeeded: () => boolean;
  readonly #defer: (fn: () => void) => void;
  /** Moves queued and not yet made; later moves queue behind them to keep the order. */
  #queued = 0;

  constructor(pins: V86IrqPins, irq: number, deferNeeded: () => boolean, defer: (fn: () => void) => void) {
    this.#pins = pins;
    this.irq = irq;
    this.#deferNeeded = deferNeeded;
    this.#defer = defer;
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
    if (this.#queued === 0 && !this.#deferNeeded()) {
      apply();
      return;
    }
    this.#queued++;
    this.#defer(() => {
      this.#queued--;
      apply();
    });
  }
}
