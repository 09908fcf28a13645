// The fuzzer's own account of interrupt events, kept from what a driver and a bus analyser can
// see, not from the transport's record: events the device signalled (the transport's per-source
// counters), messages it put on the bus, the driver's InterruptACK writes and resets. From it,
// the invariant of docs/virtio-mmio-msi.md ("Undelivered events"), checked after every
// operation: every event that happened has been delivered (a message went out on a vector it
// was mapped to), or the driver acknowledged it (InterruptACK of its bit, or a reset), or a
// queue reset discarded it (docs/virtio-mmio-msi-v3.md, D10: the reset queue's events are
// legitimately gone), or it is visible to the driver now: its InterruptStatus bit with the line
// high, or the pending bit of its vector, or with the v3 targets the pending bit of its own
// target (disabled targets included: a clear ENABLE keeps the event, pending). The one
// exception is the driver's own choice: with the table on, an event whose source it mapped to
// NO_VECTOR waits unseen until it maps it or leaves the table.

import { INTERRUPT, NO_VECTOR, REG } from "../virtio/constants.ts";
import type { MmioTransport } from "../virtio/mmio-transport.ts";

export class EventLedger {
  readonly #t: MmioTransport;
  /** Per source (0 = config, 1 + q = queue q): the event count already delivered or acknowledged. */
  readonly #covered: number[];

  /**
   * `owed`: sources (as owed() gives them) with an event still owed when this transport took
   * over another's state (a restore): its counters start at 0, and those events must still
   * show until delivered or acknowledged.
   */
  constructor(transport: MmioTransport, owed: readonly number[] = []) {
    this.#t = transport;
    this.#covered = this.#counts().map((n, s) => (owed.includes(s) ? n - 1 : n));
  }

  /**
   * A message went out on the bus: it covers the sources mapped to every vector that could send
   * it, or with the v3 targets the sources of every target that could.
   */
  busWrite(addr: number, data: number): void {
    const pq = this.#t.msiPerQueue;
    if (pq !== null && pq.enabled) {
      const counts = this.#counts();
      pq.state().targets.forEach((x, s) => {
        if (x.enabled && !x.masked && x.addrHigh === 0 && x.addrLow === addr >>> 0 && x.data === data >>> 0) this.#covered[s] = counts[s]!;
      });
      return;
    }
    const table = this.#t.msi;
    if (table === null || !table.enabled) return;
    const msi = table.state();
    const counts = this.#counts();
    msi.vectors.forEach((v, i) => {
      if (v.masked || v.addrHigh !== 0 || v.addrLow !== addr >>> 0 || v.data !== data >>> 0) return;
      if (msi.configVector === i) this.#covered[0] = counts[0]!;
      msi.queueVectors.forEach((qv, q) => {
        if (qv === i) this.#covered[1 + q] = counts[1 + q]!;
      });
    });
  }

  /** Call around every register write: the driver's ACKs, resets and queue resets account for events. */
  write(offset: number, width: number, value: number, doWrite: () => void): void {
    const t = this.#t;
    const acked = offset === REG.InterruptACK && width === 4 && !t.msiOn ? (value >>> 0) & t.interruptStatus : 0;
    const reset = offset === REG.Status && width === 4 && value >>> 0 === 0;
    const queueResets = t.counters.queueResets;
    doWrite();
    const counts = this.#counts();
    // A queue reset the transport accepted (it counts exactly those) discards that queue's event.
    if (t.counters.queueResets !== queueResets) {
      const s = 1 + t.queueSel;
      if (s < counts.length) this.#covered[s] = counts[s]!;
    }
    if (reset || acked & INTERRUPT.CONFIG_CHANGE) this.#covered[0] = counts[0]!;
    if (reset || acked & INTERRUPT.USED_BUFFER) for (let s = 1; s < counts.length; s++) this.#covered[s] = counts[s]!;
  }

  /** Sources with events not yet delivered or acknowledged (0 = config, 1 + q = queue q). */
  owed(): number[] {
    const counts = this.#counts();
    return counts.flatMap((n, s) => (n > this.#covered[s]! ? [s] : []));
  }

  /** Why an owed event is invisible to the driver now, or null. `lineHigh`: the rig's view of the line. */
  check(lineHigh: boolean): string | null {
    const owed = this.owed();
    if (owed.length === 0) return null;
    const table = this.#t.msi;
    const msi = table !== null && table.enabled ? table.state() : null;
    const pq = this.#t.msiPerQueue?.enabled ? this.#t.msiPerQueue.state() : null;
    const status = this.#t.interruptStatus;
    for (const src of owed) {
      const name = src === 0 ? "config" : `queue ${src - 1}`;
      if (pq !== null) {
        if (!pq.targets[src]?.pending) return `lost event: ${name} undelivered, MSI_ENABLE set, but its target is not pending`;
        continue;
      }
      if (msi !== null) {
        const v = src === 0 ? msi.configVector : msi.queueVectors[src - 1]!;
        if (v === NO_VECTOR) continue; // parked by the driver's own mapping
        if (!msi.vectors[v]?.pending) return `lost event: ${name} undelivered, MSI on, but vector ${v} is not pending`;
        continue;
      }
      const bit = src === 0 ? INTERRUPT.CONFIG_CHANGE : INTERRUPT.USED_BUFFER;
      if ((status & bit) === 0) return `lost event: ${name} undelivered, but InterruptStatus is ${status}`;
      if (!lineHigh) return `lost event: ${name} in InterruptStatus, but the line is low`;
    }
    return null;
  }

  #counts(): number[] {
    const c = this.#t.counters.interrupts;
    return [c.config, ...c.perQueue];
  }
}
