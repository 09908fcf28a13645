// How a device's events reach the driver: as messages through the MSI table or the per-queue
// targets (when the driver enabled one of the extension's two modes) or on the classic
// interrupt line with InterruptStatus and InterruptACK. All three show one EventRecord of
// undelivered events, so switching modes, in any order, moves and loses nothing
// (docs/virtio-mmio-msi.md, "Undelivered events" and "The per-queue mode"):
//   line       InterruptStatus = the record's bits; the line is asserted exactly while it is non-zero
//   table      InterruptStatus reads 0, the line is low; each recorded event is a pending bit on
//              its vector until a message goes out for it
//   per-queue  the same, with the pending bit on the event's own target
// At most one of the table and the per-queue mode is on; this class owns the switch.
// Everything happens at once, inside the caller: when the CPU may take the resulting interrupt
// is the platform's one rule (docs/virtio-mmio-msi.md, "When an interrupt reaches the CPU").
// Nothing here throws on guest input.

import type { InterruptLine } from "./interfaces.ts";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import { CONFIG_CHANGE, type EventRecord, type InterruptEvent } from "./event-record.ts";
import type { MsiPerQueue } from "./msi-per-queue.ts";
import type { MsiTable } from "./msi-table.ts";

export type InterruptMode = "line" | "table" | "per-queue";

/** What the transport counts about interrupts (its `counters.interrupts`). */
export interface InterruptCounters {
  /** Rising edges of the line. */
  lineRaised: number;
  /** Used-buffer events, all queues, and per queue. */
  usedBuffer: number;
  perQueue: number[];
  config: number;
  /** Events handed to the MSI table or the per-queue targets (their own counters say sent / delivered / held). */
  msi: number;
}

export interface InterruptDeliveryOptions {
  readonly line: InterruptLine;
  readonly msi: MsiTable | null;
  /** The per-queue mode, on a device that offers it (only with the table). */
  readonly perQueue?: MsiPerQueue | null;
  /** The device's undelivered events; the MSI table and the per-queue targets share it. */
  readonly record: EventRecord;
  /** Counted in place: the transport's counter objects, so readers see one set. */
  readonly counters: InterruptCounters;
  readonly errors: { ackWhileMsi: number };
}

export class InterruptDelivery {
  readonly #line: InterruptLine;
  readonly #msi: MsiTable | null;
  readonly #pq: MsiPerQueue | null;
  readonly #record: EventRecord;
  readonly #counters: InterruptCounters;
  readonly #errors: { ackWhileMsi: number };
  #lineHigh = false;

  constructor(o: InterruptDeliveryOptions) {
    this.#line = o.line;
    this.#msi = o.msi;
    this.#pq = o.msi === null ? null : (o.perQueue ?? null);
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

  /** Events leave as messages (either MSI mode), not on the line. */
  get msiOn(): boolean {
    return (this.#msi !== null && this.#msi.enabled) || (this.#pq !== null && this.#pq.enabled);
  }

  get mode(): InterruptMode {
    if (this.#pq?.enabled) return "per-queue";
    return this.#msi?.enabled ? "table" : "line";
  }

  /** The device signalled `e`: recorded, then shown to the driver in the current mode. */
  event(e: InterruptEvent): void {
    if (!this.#record.add(e)) return;
    if (e.kind === "config") this.#counters.config++;
    else {
      this.#counters.usedBuffer++;
      this.#counters.perQueue[e.queue]!++;
    }
    if (!this.msiOn) {
      this.#raiseLine();
      return;
    }
    this.#counters.msi++;
    if (this.#pq?.enabled) this.#pq.signal(e);
    else this.#msi!.signal(e);
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
   * An MsiCmd the transport let through (ENABLE and ENABLE_PER_QUEUE only once the driver
   * negotiated the feature). Needs the MSI table; the transport refuses MSI registers on a
   * device without one. ENABLE_PER_QUEUE is a command only where the device offers the mode;
   * elsewhere the table counts it as unknown.
   */
  msiCommand(cmd: number, queueSel: number): void {
    const msi = this.#msi;
    if (msi === null) return;
    const pq = this.#pq;
    if (cmd === MSI_CMD.ENABLE_PER_QUEUE && pq !== null) {
      // Leaving the table is its DISABLE (counted as the one MsiCmd it is); the record stays.
      msi.command(MSI_CMD.DISABLE, queueSel);
      pq.setEnabled(true);
    } else {
      msi.command(cmd, queueSel);
      // ENABLE switches from the per-queue mode to the table, DISABLE from either to the line.
      if (cmd === MSI_CMD.ENABLE || cmd === MSI_CMD.DISABLE) pq?.setEnabled(false);
    }
    if (cmd === MSI_CMD.DISABLE) {
      // Undelivered events are InterruptStatus bits now: the driver must hear of them.
      this.#raiseLine();
      return;
    }
    if (!this.msiOn) return;
    // InterruptStatus reads 0 from now on.
    if (cmd === MSI_CMD.ENABLE || cmd === MSI_CMD.ENABLE_PER_QUEUE) this.#lowerLine();
    // Recorded events whose vector or target can send now (after ENABLE*, UNMASK, CONFIGURE, MAP) go out.
    this.#flush();
  }

  /** An MsiPqCmd (the transport has it only on devices that offer the per-queue mode). */
  perQueueCommand(cmd: number): void {
    const pq = this.#pq;
    if (pq === null) return;
    pq.command(cmd);
    // A target that is pending and can send now (after SET_MESSAGE, TARGET_ENABLE, UNMASK) sends.
    pq.flush();
  }

  /** Device reset: every event forgotten, line lowered, MSI table back to power-on. */
  reset(): void {
    this.#record.clear();
    this.#lowerLine();
    this.#msi?.reset();
    this.#pq?.reset();
  }

  /**
   * Restore hook (transport-state.ts): after the record and the MSI modes are restored, the
   * line takes the level the saved state implies (high while the line mode shows an event).
   * The platform's line must be low when this runs (a fresh machine, or after reset()).
   */
  restoreLine(): void {
    if (this.#lineHigh || this.#record.size === 0 || this.msiOn) return;
    // Not a new edge the device caused: the saved one, so lineRaised does not count it.
    this.#lineHigh = true;
    this.#line.raise();
  }

  #flush(): void {
    if (this.#pq?.enabled) this.#pq.flush();
    else this.#msi?.flush();
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
