// How a device's events leave the transport: as a message through the MSI table (when the
// driver enabled the extension) or on the classic interrupt line with InterruptStatus and
// InterruptACK. The transport owns registers and the status machine; this file owns the line,
// InterruptStatus and the choice between the two paths. Nothing here throws on guest input.

import type { InterruptLine } from "./interfaces.ts";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import type { MsiTable } from "./msi-table.ts";

/** What the transport counts about interrupts (its `counters.interrupts`). */
export interface InterruptCounters {
  /** Rising edges of the line. */
  lineRaised: number;
  usedBuffer: number;
  config: number;
  /** Events handed to the MSI table (its own counters say sent / delivered / dropped). */
  msi: number;
}

export interface InterruptDeliveryOptions {
  readonly line: InterruptLine;
  /** Runs a function after the current MMIO access has returned. */
  readonly schedule: (fn: () => void) => void;
  readonly msi: MsiTable | null;
  /** Counted in place: the transport's counter objects, so readers see one set. */
  readonly counters: InterruptCounters;
  readonly errors: { ackWhileMsi: number };
  /** True while the guest's register access runs: no interrupt may leave inside it. */
  readonly inAccess: () => boolean;
}

/** The config-change event's index for `event`. */
export const CONFIG_EVENT = -1;

export class InterruptDelivery {
  readonly #line: InterruptLine;
  readonly #schedule: (fn: () => void) => void;
  readonly #msi: MsiTable | null;
  readonly #counters: InterruptCounters;
  readonly #errors: { ackWhileMsi: number };
  readonly #inAccess: () => boolean;
  #interruptStatus = 0;
  #lineHigh = false;
  /** Bumped by reset(): deliveries scheduled before it become inert. */
  #epoch = 0;

  constructor(o: InterruptDeliveryOptions) {
    this.#line = o.line;
    this.#schedule = o.schedule;
    this.#msi = o.msi;
    this.#counters = o.counters;
    this.#errors = o.errors;
    this.#inAccess = o.inAccess;
  }

  /** The InterruptStatus register. */
  get interruptStatus(): number {
    return this.#interruptStatus;
  }

  get lineHigh(): boolean {
    return this.#lineHigh;
  }

  /** Events leave as messages (MSI enabled), not on the line. */
  get msiOn(): boolean {
    return this.#msi !== null && this.#msi.enabled;
  }

  /** An event for queue `index`, or the config event (CONFIG_EVENT). */
  event(index: number): void {
    if (this.#inAccess()) {
      // Never interrupt the guest inside its own register access: deliver right after it.
      const epoch = this.#epoch;
      this.#schedule(() => {
        if (epoch === this.#epoch) this.#deliver(index);
      });
      return;
    }
    this.#deliver(index);
  }

  /** An InterruptACK write. */
  ack(value: number): void {
    if (this.msiOn) {
      this.#errors.ackWhileMsi++;
      return;
    }
    this.#interruptStatus &= ~value;
    // The line is edge-triggered: what is left after the ACK needs a fresh edge, or it is lost.
    this.#lowerLine();
    if (this.#interruptStatus !== 0) {
      const epoch = this.#epoch;
      this.#schedule(() => {
        if (epoch === this.#epoch) this.#raiseLine();
      });
    }
  }

  /**
   * An MsiCmd the transport let through (ENABLE only once the driver negotiated the feature).
   * Needs the MSI table; the transport refuses MSI registers on a device without one.
   */
  msiCommand(cmd: number, queueSel: number): void {
    const msi = this.#msi;
    if (msi === null) return;
    const left = msi.command(cmd, queueSel);
    if (cmd === MSI_CMD.ENABLE) {
      // From now on InterruptStatus stays 0 and the line stays low.
      this.#interruptStatus = 0;
      this.#lowerLine();
      return;
    }
    if (left === null) return;
    // DISABLE with messages still held by masks: they are kept in InterruptStatus, not lost,
    // but the line is not raised now. Our guest driver sends DISABLE before it registers its
    // line handler (fallback path); an edge then would find no handler and leave the line
    // high for good, swallowing every later edge. The next event raises the line instead.
    if (left.used) this.#interruptStatus |= INTERRUPT.USED_BUFFER;
    if (left.config) this.#interruptStatus |= INTERRUPT.CONFIG_CHANGE;
  }

  /** Device reset: InterruptStatus cleared, line lowered, MSI table back to power-on. */
  reset(): void {
    this.#epoch++;
    this.#interruptStatus = 0;
    this.#lowerLine();
    this.#msi?.reset();
  }

  #deliver(index: number): void {
    if (index < 0) this.#counters.config++;
    else this.#counters.usedBuffer++;
    if (this.msiOn) {
      this.#counters.msi++;
      if (index < 0) this.#msi!.signalConfig();
      else this.#msi!.signalQueue(index);
      return;
    }
    this.#interruptStatus |= index < 0 ? INTERRUPT.CONFIG_CHANGE : INTERRUPT.USED_BUFFER;
    this.#raiseLine();
  }

  #raiseLine(): void {
    if (this.#lineHigh || this.#interruptStatus === 0 || this.msiOn) return;
    this.#lineHigh = true;
    this.#counters.lineRaised++;
    this.#line.raise();
  }

  #lowerLine(): void {
    if (!this.#lineHigh) return;
    this.#lineHigh = false;
    this.#line.lower();
  }
}
