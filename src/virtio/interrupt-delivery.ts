// How a device's events reach the driver: as messages through the MSI table (when the driver
// enabled the extension) or on the classic interrupt line with InterruptStatus and
// InterruptACK. Both show one EventRecord of undelivered events, so switching modes moves and
// loses nothing (docs/virtio-mmio-msi.md, "Undelivered events"):
//   line   InterruptStatus = the record's bits; the line is asserted exactly while it is non-zero
//   MSI    InterruptStatus reads 0, the line is low; each recorded event is a pending bit on
//          its vector until a message goes out for it
// Everything happens at once, inside the caller: when the CPU may take the resulting interrupt
// is the platform's one rule (docs/virtio-mmio-msi.md, "When an interrupt reaches the CPU").
// Nothing here throws on guest input.

import type { InterruptLine } from "./interfaces.ts";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import { CONFIG_CHANGE, type EventRecord, type InterruptEvent } from "./event-record.ts";
import type { MsiTable } from "./msi-table.ts";

/** What the transport counts about interrupts (its `counters.interrupts`). */
export interface InterruptCounters {
  /** Rising edges of the line. */
  lineRaised: number;
  /** Used-buffer events, all queues, and per queue. */
  usedBuffer: number;
  perQueue: number[];
  config: number;
  /** Events handed to the MSI table (its own counters say sent / delivered / held). */
  msi: number;
}

export interface InterruptDeliveryOptions {
  readonly line: InterruptLine;
  readonly msi: MsiTable | null;
  /** The device's undelivered events; the MSI table shares it. */
  readonly record: EventRecord;
  /** Counted in place: the transport's counter objects, so readers see one set. */
  readonly counters: InterruptCounters;
  readonly errors: { ackWhileMsi: number };
}

export class InterruptDelivery {
  readonly #line: InterruptLine;
  readonly #msi: MsiTable | null;
  readonly #record: EventRecord;
  readonly #counters: InterruptCounters;
  readonly #errors: { ackWhileMsi: number };
  #lineHigh = false;

  constructor(o: InterruptDeliveryOptions) {
    this.#line = o.line;
    this.#msi = o.msi;
    this.#record = o.record;
    this.#counters = o.counters;
    this.#errors = o.errors;
  }

  /** The InterruptStatus register: the record's bits with the line, 0 while MSI is on. */
  get interruptStatus(): number {
    if (this.msiOn) return 0;
    return (this.#record.anyQueue ? INTERRUPT.USED_BUFFER : 0) | (this.#record.has(CONFIG_CHANGE) ? INTERRUPT.CONFIG_CHANGE : 0);
  }

  get lineHigh(): boolean {
    return this.#lineHigh;
  }

  /** Events leave as messages (MSI enabled), not on the line. */
  get msiOn(): boolean {
    return this.#msi !== null && this.#msi.enabled;
  }

  /** The device signalled `e`: recorded, then shown to the driver in the current mode. */
  event(e: InterruptEvent): void {
    if (!this.#record.add(e)) return;
    if (e.kind === "config") this.#counters.config++;
    else {
      this.#counters.usedBuffer++;
      this.#counters.perQueue[e.queue]!++;
    }
    if (this.msiOn) {
      this.#counters.msi++;
      this.#msi!.signal(e);
      return;
    }
    this.#raiseLine();
  }

  /** An InterruptACK write: the driver has seen the events of the bits it acknowledges. */
  ack(value: number): void {
    if (this.msiOn) {
      this.#errors.ackWhileMsi++;
      return;
    }
    let cleared = false;
    if (value & INTERRUPT.USED_BUFFER) cleared = this.#record.deleteQueues();
    if (value & INTERRUPT.CONFIG_CHANGE) cleared = this.#record.delete(CONFIG_CHANGE) || cleared;
    if (!cleared) return;
    // Deassert as hardware does on the ACK. Bits left (events that came after the driver read
    // InterruptStatus) assert it again at once: a fresh edge for an edge-triggered input, and
    // for a level-triggered one the IO-APIC delivers again after the handler's EOI.
    this.#lowerLine();
    this.#raiseLine();
  }

  /**
   * An MsiCmd the transport let through (ENABLE only once the driver negotiated the feature).
   * Needs the MSI table; the transport refuses MSI registers on a device without one.
   */
  msiCommand(cmd: number, queueSel: number): void {
    const msi = this.#msi;
    if (msi === null) return;
    msi.command(cmd, queueSel);
    if (cmd === MSI_CMD.DISABLE) {
      // Undelivered events are InterruptStatus bits now: the driver must hear of them.
      this.#raiseLine();
      return;
    }
    if (!msi.enabled) return;
    if (cmd === MSI_CMD.ENABLE) this.#lowerLine(); // InterruptStatus reads 0 from now on
    // Recorded events whose vector can send now (after ENABLE, UNMASK, CONFIGURE, MAP) go out.
    msi.flush();
  }

  /** Device reset: every event forgotten, line lowered, MSI table back to power-on. */
  reset(): void {
    this.#record.clear();
    this.#lowerLine();
    this.#msi?.reset();
  }

  #raiseLine(): void {
    if (this.#lineHigh || this.#record.size === 0 || this.msiOn) return;
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
