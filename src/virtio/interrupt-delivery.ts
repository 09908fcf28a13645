// How a device's events reach the driver: as messages (the v3 layout's per-queue targets, or
// the 2020 layout's vector table, whichever the device was built with) or on the classic
// interrupt line with InterruptStatus and InterruptACK. All show one EventRecord of
// undelivered events, so switching modes, in any order, moves and loses nothing
// (docs/virtio-mmio-msi-v3.md, "Events", D5; docs/virtio-mmio-msi.md, "Undelivered events"):
//   line       InterruptStatus = the record's bits; the line is asserted exactly while it is non-zero
//   per-queue  (v3, MsiControl.MSI_ENABLE) InterruptStatus reads 0, the line is low; each
//              recorded event is the pending bit of its source's target until its message goes out
//   table      (2020) the same, with the pending bit on the vector the source is mapped to
// The mode is one value (interrupt-mode.ts) whose legal moves are a table by layout: a device
// has at most one of the two MSI layouts and reaches only its own MSI mode; this class owns the
// moves and what each does to the line.
// Everything happens at once, inside the caller: when the CPU may take the resulting interrupt
// is the platform's one rule (docs/virtio-mmio-msi.md, "When an interrupt reaches the CPU").
// Nothing here throws on guest input.

import type { InterruptLine } from "./interfaces.ts";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import { CONFIG_CHANGE, type EventRecord, type InterruptEvent } from "./event-record.ts";
import { InterruptModeState, lineLevel, type InterruptMode } from "./interrupt-mode.ts";
import type { MsiPerQueue } from "./msi-per-queue.ts";
import type { MsiTable } from "./msi-table.ts";

export type { InterruptMode } from "./interrupt-mode.ts";

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
  /** The v3 layout's targets, on a device built with it (never together with the table). */
  readonly perQueue?: MsiPerQueue | null;
  /** The device's undelivered events; the line and the MSI layout show it. */
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
  /** The one mode value, shared with the MSI layout's state (which reads it). */
  readonly #mode: InterruptModeState;
  #lineHigh = false;

  constructor(o: InterruptDeliveryOptions) {
    this.#line = o.line;
    this.#msi = o.msi;
    this.#pq = o.perQueue ?? null;
    // Our own wiring error, not guest input: a window has one layout (mmio-registers.ts).
    if (this.#msi !== null && this.#pq !== null) throw new Error("InterruptDelivery: both MSI layouts given");
    this.#mode = this.#msi?.modeState ?? this.#pq?.modeState ?? new InterruptModeState(null);
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
    return this.#mode.value !== "line";
  }

  get mode(): InterruptMode {
    return this.#mode.value;
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
    if (this.#mode.value === "per-queue") this.#pq!.signal(e);
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
   * An MsiCmd of the 2020 layout the transport let through (ENABLE only once the driver
   * negotiated the feature). Needs the MSI table; the transport refuses MSI registers on a
   * device without one.
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
    if (!this.msiOn) return;
    // InterruptStatus reads 0 from now on.
    if (cmd === MSI_CMD.ENABLE) this.#lowerLine();
    // Recorded events whose vector can send now (after ENABLE, UNMASK, CONFIGURE, MAP) go out.
    this.#msi?.flush();
  }

  /**
   * MsiControl.MSI_ENABLE of the v3 layout (the transport checked the feature, D3). On: the
   * line drops and every undelivered event becomes its target's pending event, sent where the
   * target can send. Off: the undelivered events are InterruptStatus bits again (D5).
   */
  setMsiEnable(on: boolean): void {
    const pq = this.#pq;
    if (pq === null || pq.enabled === on) return;
    pq.setEnabled(on);
    if (on) {
      this.#lowerLine();
      pq.flush();
    } else {
      this.#raiseLine();
    }
  }

  /** A v3 Data or control write: a pending target that can send now sends (D8). */
  targetsChanged(): void {
    if (this.#pq?.enabled) this.#pq.flush();
  }

  /**
   * Queue `q` was reset (D10): its undelivered event is discarded, in any mode, and its v3
   * target is back to power-on. Nothing else changes; with the line, it drops when the
   * discarded event was the last one shown.
   */
  queueReset(q: number, e: InterruptEvent): void {
    this.#record.delete(e);
    if (this.#pq !== null) this.#pq.resetTarget(this.#pq.queueTarget(q));
    if (this.#record.size === 0) this.#lowerLine();
  }

  /** Device reset (D2): every event forgotten, line lowered, the MSI layout back to power-on. */
  reset(): void {
    this.#record.clear();
    this.#lowerLine();
    this.#mode.reset();
    this.#msi?.reset();
    this.#pq?.reset();
  }

  /**
   * Restore hook (transport-state.ts), after reset(): the saved mode, reached from "line" by a
   * move of the same transition table the registers use. Sends nothing.
   */
  restoreMode(mode: InterruptMode): void {
    // The state was checked against the same table (transport-state.ts): a refusal here is ours.
    if (!this.#mode.move(mode)) throw new Error(`InterruptDelivery: restored mode ${mode} refused by the transition table`);
  }

  /**
   * Restore hook (transport-state.ts): after the record and the mode are restored, the
   * line takes the level the saved state implies (high while the line mode shows an event).
   * The platform's line must be low when this runs (a fresh machine, or after reset()).
   */
  restoreLine(): void {
    if (this.#lineHigh || !lineLevel(this.#mode.value, this.#record.size > 0)) return;
    // Not a new edge the device caused: the saved one, so lineRaised does not count it.
    this.#lineHigh = true;
    this.#line.raise();
  }

  #raiseLine(): void {
    if (this.#lineHigh || !lineLevel(this.#mode.value, this.#record.size > 0)) return;
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
