// The v3 layout's MSI targets (docs/virtio-mmio-msi-v3.md, "Registers" and "Events"): one
// target per event source (configuration changes, and each queue), each with a staged address,
// an effective address/data pair, ENABLE and MASK. Target 0 carries configuration changes and
// target 1 + q queue q, the order of the EventRecord's sources. The AddrLow/AddrHigh registers
// write the staged address; the Data register commits staged address and data together
// ("Writing a pair", D7). MsiControl.MSI_ENABLE turns the mode on; InterruptDelivery owns that
// switch and calls flush() after every write that may let a pending target send (D8).
//
// A target's pending bit is not stored: it is set while the mode is on and its source has an
// undelivered event in the device's EventRecord, so it follows the record through every mode
// change (D5). A target sends only when enabled, unmasked and with a usable address
// (MsiMessages, D6). Every value comes from the guest: out-of-range input is counted and
// changes nothing; nothing throws.

import type { GuestMemory } from "./interfaces.ts";
import { MSI_TARGET_CONTROL } from "./constants.ts";
import type { EventRecord, InterruptEvent } from "./event-record.ts";
import { InterruptModeState } from "./interrupt-mode.ts";
import { MsiMessages, type MsiMessage, type MsiMessageCounters } from "./msi-messages.ts";

export interface MsiPerQueueOptions {
  /** Number of virtqueues of the device. */
  readonly queues: number;
  /** MsiVectorHint: how many distinct messages the device would like (1..1 + queues, D12). */
  readonly pairsHint: number;
  readonly memory: GuestMemory;
  /** The device's undelivered events (shared with InterruptDelivery). */
  readonly record: EventRecord;
  /**
   * The device's interrupt mode (interrupt-mode.ts), shared with InterruptDelivery; the
   * targets send while it is "per-queue". Absent: the targets' own (layout "v3").
   */
  readonly mode?: InterruptModeState;
}

export interface MsiTargetCounters extends MsiMessageCounters {
  /** Events that found their target disabled: kept undelivered, not sent. */
  heldDisabled: number;
}

export interface MsiPerQueueCounters {
  /** Control-word writes with bits other than ENABLE, MASK and PENDING set: refused whole. */
  badControl: number;
  /** Events held on a target whose address high word is non-zero (no bus above 4 GiB). */
  addrHighNonZero: number;
  /** Targets returned to power-on by a queue reset (D10). */
  queueResets: number;
  /** Per target: 0 = configuration changes, 1 + q = queue q. */
  targets: MsiTargetCounters[];
}

/** The staged address of one target (what AddrLow/AddrHigh wrote since the last Data write). */
export interface MsiStagedAddress {
  readonly addrLow: number;
  readonly addrHigh: number;
}

/** One target as saved and restored (checked by the caller, transport-state.ts). */
export interface MsiTargetRestore extends MsiMessage {
  readonly enabled: boolean;
  readonly staged: MsiStagedAddress;
}

/** The targets as restored; MsiControl.MSI_ENABLE is the device's mode, restored through InterruptDelivery. */
export interface MsiPerQueueRestore {
  readonly targets: readonly MsiTargetRestore[];
}

export interface MsiTargetState extends MsiMessage {
  readonly enabled: boolean;
  readonly pending: boolean;
  readonly staged: MsiStagedAddress;
}

export interface MsiPerQueueState {
  /** The mode is on (MsiControl.MSI_ENABLE). */
  readonly enabled: boolean;
  /** MsiVectorHint. */
  readonly pairsHint: number;
  /** 0 = configuration changes, 1 + q = queue q. */
  readonly targets: readonly MsiTargetState[];
}

/** Slot of the configuration-change target (the EventRecord's order). */
export const CONFIG_TARGET = 0;
const CONTROL_BITS = MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK | MSI_TARGET_CONTROL.PENDING;

export class MsiPerQueue {
  readonly queueCount: number;
  readonly pairsHint: number;
  readonly counters: MsiPerQueueCounters;
  readonly #record: EventRecord;
  readonly #targets: MsiMessages<MsiTargetCounters>;
  readonly #targetEnabled: Uint8Array;
  readonly #stagedLow: Uint32Array;
  readonly #stagedHigh: Uint32Array;
  readonly #mode: InterruptModeState;

  constructor(o: MsiPerQueueOptions) {
    // Host configuration errors, not guest input: fail loudly at construction.
    if (!Number.isInteger(o.queues) || o.queues < 0) throw new RangeError(`queues must be >= 0, got ${o.queues}`);
    if (!Number.isInteger(o.pairsHint) || o.pairsHint < 1 || o.pairsHint > 1 + o.queues) {
      throw new RangeError(`MsiVectorHint must be 1..${1 + o.queues}, got ${o.pairsHint}`);
    }
    this.queueCount = o.queues;
    this.pairsHint = o.pairsHint;
    this.#record = o.record;
    this.#mode = o.mode ?? new InterruptModeState("v3");
    // Our own wiring error: the targets' mode value is one of a v3 device.
    if (this.#mode.layout !== "v3") throw new Error(`MsiPerQueue: a mode of layout ${String(this.#mode.layout)}`);
    const n = 1 + o.queues;
    this.counters = {
      badControl: 0, addrHighNonZero: 0, queueResets: 0,
      targets: Array.from({ length: n }, () => ({ sent: 0, delivered: 0, dropped: 0, pendingWhileMasked: 0, heldNoAddress: 0, heldDisabled: 0 })),
    };
    this.#targets = new MsiMessages(n, o.memory, this.counters.targets, this.counters);
    this.#targetEnabled = new Uint8Array(n);
    this.#stagedLow = new Uint32Array(n);
    this.#stagedHigh = new Uint32Array(n);
    this.reset();
  }

  /** The mode is on: events leave as their targets' messages. */
  get enabled(): boolean {
    return this.#mode.value === "per-queue";
  }

  /** The device's mode value (InterruptDelivery reads and moves the same one). */
  get modeState(): InterruptModeState {
    return this.#mode;
  }

  /** InterruptDelivery turns the mode on and off (MsiControl.MSI_ENABLE). */
  setEnabled(on: boolean): void {
    this.#mode.move(on ? "per-queue" : "line");
  }

  /** Power-on (D2): mode off, every target disabled, unmasked, address and data 0, staged and effective. */
  reset(): void {
    this.#mode.reset();
    this.#targets.reset();
    this.#targetEnabled.fill(0);
    this.#stagedLow.fill(0);
    this.#stagedHigh.fill(0);
  }

  /** Target t (1 + queue) back to power-on, the mode untouched (a queue reset, D10). */
  resetTarget(t: number): void {
    if (!this.#valid(t)) return;
    this.counters.queueResets++;
    this.#targets.resetOne(t);
    this.#targetEnabled[t] = 0;
    this.#stagedLow[t] = 0;
    this.#stagedHigh[t] = 0;
  }

  /** The target of queue `q`, or -1 when the device has no such queue. */
  queueTarget(q: number): number {
    return Number.isInteger(q) && q >= 0 && q < this.queueCount ? 1 + q : -1;
  }

  // ---- registers of target t (the caller picked t: CONFIG_TARGET, or queueTarget(QueueSel)) ----

  /** AddrLow / AddrHigh / Data read the effective pair. */
  readAddrLow(t: number): number {
    return this.#valid(t) ? this.#targets.message(t).addrLow : 0;
  }
  readAddrHigh(t: number): number {
    return this.#valid(t) ? this.#targets.message(t).addrHigh : 0;
  }
  readData(t: number): number {
    return this.#valid(t) ? this.#targets.message(t).data : 0;
  }
  /** The control word: ENABLE, MASK, and PENDING while the mode is on and the source has an event. */
  readControl(t: number): number {
    if (!this.#valid(t)) return 0;
    return (
      (this.#targetEnabled[t] ? MSI_TARGET_CONTROL.ENABLE : 0) |
      (this.#targets.message(t).masked ? MSI_TARGET_CONTROL.MASK : 0) |
      (this.pending(t) ? MSI_TARGET_CONTROL.PENDING : 0)
    );
  }

  writeAddrLow(t: number, value: number): void {
    if (this.#valid(t)) this.#stagedLow[t] = value >>> 0;
  }
  writeAddrHigh(t: number, value: number): void {
    if (this.#valid(t)) this.#stagedHigh[t] = value >>> 0;
  }
  /** Commits the staged address with this data (D7); the caller then flushes (D8). */
  writeData(t: number, value: number): void {
    if (this.#valid(t)) this.#targets.commit(t, this.#stagedLow[t]!, this.#stagedHigh[t]!, value);
  }
  /**
   * ENABLE and MASK as written. PENDING is read-only: a driver writing back what it read is
   * not an error, so the bit is ignored. Any other bit set makes the write out of range: it
   * changes nothing and is counted (D11; docs/virtio-mmio-msi-v3.md, "Registers").
   */
  writeControl(t: number, value: number): void {
    if (!this.#valid(t)) return;
    if ((value & ~CONTROL_BITS) !== 0) {
      this.counters.badControl++;
      return;
    }
    this.#targetEnabled[t] = value & MSI_TARGET_CONTROL.ENABLE ? 1 : 0;
    this.#targets.setMasked(t, (value & MSI_TARGET_CONTROL.MASK) !== 0);
  }

  /** The target of `e`: 0 for configuration changes, 1 + q for queue q. */
  targetOf(e: InterruptEvent): number {
    return e.kind === "config" ? CONFIG_TARGET : 1 + e.queue;
  }

  /**
   * A recorded event, while the mode is on: sent at once if its target is enabled, unmasked
   * and has a usable address, else left pending there (counted by reason).
   */
  signal(e: InterruptEvent): void {
    const t = this.targetOf(e);
    if (!this.#valid(t)) return; // no such queue: the record refused it already
    if (!this.#targetEnabled[t]) {
      this.counters.targets[t]!.heldDisabled++;
      return;
    }
    if (!this.#targets.held(t)) this.#send(t);
  }

  /** Sends every target that is pending and may send now (D5, D8). */
  flush(): void {
    if (!this.enabled || this.#record.size === 0) return;
    const sources = this.#record.sources;
    for (let t = 0; t < sources.length; t++) {
      if (this.#record.has(sources[t]!) && this.#targetEnabled[t] && this.#targets.ready(t)) this.#send(t);
    }
  }

  /** Target t's pending bit: the mode on and an undelivered event of its source. */
  pending(t: number): boolean {
    const e = this.#record.sources[t];
    return this.enabled && e !== undefined && this.#record.has(e);
  }

  state(): MsiPerQueueState {
    const targets: MsiTargetState[] = [];
    for (let t = 0; t <= this.queueCount; t++) {
      targets.push({
        ...this.#targets.message(t), enabled: this.#targetEnabled[t] === 1, pending: this.pending(t),
        staged: { addrLow: this.#stagedLow[t]!, addrHigh: this.#stagedHigh[t]! },
      });
    }
    return { enabled: this.enabled, pairsHint: this.pairsHint, targets };
  }

  /** Restore hook: the saved targets (1 + queues of them, checked by the caller). Sends nothing. */
  restore(s: MsiPerQueueRestore): void {
    s.targets.forEach((t, i) => {
      this.#targets.restore(i, t);
      this.#targetEnabled[i] = t.enabled ? 1 : 0;
      this.#stagedLow[i] = t.staged.addrLow >>> 0;
      this.#stagedHigh[i] = t.staged.addrHigh >>> 0;
    });
  }

  #valid(t: number): boolean {
    return Number.isInteger(t) && t >= 0 && t <= this.queueCount;
  }

  /** Writes target t's message: its source's event has reached the driver. */
  #send(t: number): void {
    this.#record.delete(this.#record.sources[t]!);
    this.#targets.write(t);
  }
}
