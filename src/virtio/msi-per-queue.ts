// The per-queue mode of the MSI extension (docs/virtio-mmio-msi.md, "The per-queue mode"): one
// target per event source (configuration changes, and each queue), each with its own
// address/data pair, an enable flag and a mask, written through MsiPqSel, the staged
// MsiPqAddrLow/High/Data and MsiPqCmd. No table, no mapping: target 0 carries configuration
// changes and target 1 + q queue q, the order of the EventRecord's sources.
//
// As with the table, a target's pending bit is not stored: it is set while the mode is on and
// its source has an undelivered event in the device's EventRecord, so it follows the record
// through every mode change. A target sends only when enabled, unmasked and with a usable
// address (MsiMessages). Every value comes from the guest: out-of-range input is counted and
// changes nothing; nothing throws. Whether the mode is on is set by InterruptDelivery, which
// owns the switch between the line, the table and this mode.

import type { GuestMemory } from "./interfaces.ts";
import { MSI_PQ_CMD, MSI_PQ_STATUS, MSI_PQ_TARGET_CONFIG } from "./constants.ts";
import type { EventRecord, InterruptEvent } from "./event-record.ts";
import { MsiMessages, type MsiMessage, type MsiMessageCounters, type MsiStagedMessage, type MsiStagedRegister } from "./msi-messages.ts";

export interface MsiPerQueueOptions {
  /** Number of virtqueues of the device. */
  readonly queues: number;
  /** MsiPqHint: how many distinct pairs the device would like (1..1 + queues). */
  readonly pairsHint: number;
  readonly memory: GuestMemory;
  /** The device's undelivered events (shared with InterruptDelivery and the table). */
  readonly record: EventRecord;
}

export interface MsiTargetCounters extends MsiMessageCounters {
  /** Events that found their target disabled: kept undelivered, not sent. */
  heldDisabled: number;
}

export interface MsiPerQueueCounters {
  /** MsiPqCmd writes. */
  commands: number;
  badCommand: number;
  /** MsiPqCmd while MsiPqSel names no target. */
  badTarget: number;
  /** Events held on a target whose address high word is non-zero (no bus above 4 GiB). */
  addrHighNonZero: number;
  /** Per target: 0 = configuration changes, 1 + q = queue q. */
  targets: MsiTargetCounters[];
}

/** What restore() takes, checked by the caller (transport-state.ts). */
export interface MsiPerQueueRestore {
  readonly enabled: boolean;
  readonly selected: number;
  readonly staged: MsiStagedMessage;
  readonly targets: readonly (MsiMessage & { readonly enabled: boolean })[];
}

export interface MsiTargetState extends MsiMessage {
  readonly enabled: boolean;
  readonly pending: boolean;
}

export interface MsiPerQueueState {
  /** The mode is on (MsiState bit 29). */
  readonly enabled: boolean;
  readonly pairsHint: number;
  /** MsiPqSel as written (MSI_PQ_TARGET_CONFIG for configuration changes). */
  readonly selected: number;
  readonly staged: MsiStagedMessage;
  /** 0 = configuration changes, 1 + q = queue q. */
  readonly targets: readonly MsiTargetState[];
}

/** Slot of the configuration-change target (the EventRecord's order). */
const CONFIG_TARGET = 0;
const COMMANDS = new Set<number>(Object.values(MSI_PQ_CMD));

export class MsiPerQueue {
  readonly queueCount: number;
  readonly pairsHint: number;
  readonly counters: MsiPerQueueCounters;
  readonly #record: EventRecord;
  readonly #targets: MsiMessages<MsiTargetCounters>;
  readonly #targetEnabled: Uint8Array;
  #enabled = false;
  #sel = 0;

  constructor(o: MsiPerQueueOptions) {
    // Host configuration errors, not guest input: fail loudly at construction.
    if (!Number.isInteger(o.queues) || o.queues < 0) throw new RangeError(`queues must be >= 0, got ${o.queues}`);
    if (!Number.isInteger(o.pairsHint) || o.pairsHint < 1 || o.pairsHint > 1 + o.queues) {
      throw new RangeError(`MsiPqHint must be 1..${1 + o.queues}, got ${o.pairsHint}`);
    }
    this.queueCount = o.queues;
    this.pairsHint = o.pairsHint;
    this.#record = o.record;
    const n = 1 + o.queues;
    this.counters = {
      commands: 0, badCommand: 0, badTarget: 0, addrHighNonZero: 0,
      targets: Array.from({ length: n }, () => ({ sent: 0, delivered: 0, dropped: 0, pendingWhileMasked: 0, heldNoAddress: 0, heldDisabled: 0 })),
    };
    this.#targets = new MsiMessages(n, o.memory, this.counters.targets, this.counters);
    this.#targetEnabled = new Uint8Array(n);
    this.reset();
  }

  /** The mode is on: events leave as their targets' messages. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** InterruptDelivery turns the mode on (ENABLE_PER_QUEUE) and off (DISABLE, ENABLE). */
  setEnabled(on: boolean): void {
    this.#enabled = on;
  }

  /** Power-on: mode off, every target disabled, unmasked, address and data 0, selector and staging 0. */
  reset(): void {
    this.#enabled = false;
    this.#targets.reset();
    this.#targetEnabled.fill(0);
    this.#sel = 0;
  }

  // Register writes. Values are kept as u32; the target is checked when a command uses it.
  select(value: number): void {
    this.#sel = value >>> 0;
  }
  stage(register: MsiStagedRegister, value: number): void {
    this.#targets.stage(register, value);
  }

  /** The MsiPqStatus register: the selected target's bits, 0 when MsiPqSel names none. */
  get statusRegister(): number {
    const t = this.#selectedTarget();
    if (t < 0) return 0;
    return (
      (this.#targetEnabled[t] ? MSI_PQ_STATUS.ENABLED : 0) |
      (this.#targets.message(t).masked ? MSI_PQ_STATUS.MASKED : 0) |
      (this.pending(t) ? MSI_PQ_STATUS.PENDING : 0)
    );
  }

  /**
   * Runs an MsiPqCmd on the selected target. The caller (InterruptDelivery) then sends what
   * can go now with `flush()` while the mode is on.
   */
  command(cmd: number): void {
    this.counters.commands++;
    if (!COMMANDS.has(cmd)) {
      this.counters.badCommand++;
      return;
    }
    const t = this.#selectedTarget();
    if (t < 0) {
      this.counters.badTarget++;
      return;
    }
    switch (cmd) {
      case MSI_PQ_CMD.SET_MESSAGE: this.#targets.latch(t); return;
      case MSI_PQ_CMD.TARGET_ENABLE: this.#targetEnabled[t] = 1; return;
      case MSI_PQ_CMD.TARGET_DISABLE: this.#targetEnabled[t] = 0; return;
      case MSI_PQ_CMD.MASK: this.#targets.setMasked(t, true); return;
      case MSI_PQ_CMD.UNMASK: this.#targets.setMasked(t, false); return;
    }
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
    if (t > this.queueCount) return; // no such queue: the record refused it already
    if (!this.#targetEnabled[t]) {
      this.counters.targets[t]!.heldDisabled++;
      return;
    }
    if (!this.#targets.held(t)) this.#send(t);
  }

  /** Sends every target that is pending and may send now (after ENABLE_PER_QUEUE and MsiPqCmd). */
  flush(): void {
    if (!this.#enabled || this.#record.size === 0) return;
    const sources = this.#record.sources;
    for (let t = 0; t < sources.length; t++) {
      if (this.#record.has(sources[t]!) && this.#targetEnabled[t] && this.#targets.ready(t)) this.#send(t);
    }
  }

  /** Target t's pending bit: the mode on and an undelivered event of its source. */
  pending(t: number): boolean {
    const e = this.#record.sources[t];
    return this.#enabled && e !== undefined && this.#record.has(e);
  }

  state(): MsiPerQueueState {
    const targets: MsiTargetState[] = [];
    for (let t = 0; t <= this.queueCount; t++) {
      targets.push({ ...this.#targets.message(t), enabled: this.#targetEnabled[t] === 1, pending: this.pending(t) });
    }
    return { enabled: this.#enabled, pairsHint: this.pairsHint, selected: this.#sel, staged: this.#targets.staged, targets };
  }

  /** Restore hook: the saved targets (1 + queues of them, checked by the caller). Sends nothing. */
  restore(s: MsiPerQueueRestore): void {
    this.#enabled = s.enabled;
    this.#sel = s.selected >>> 0;
    this.#targets.restoreStaged(s.staged);
    s.targets.forEach((t, i) => {
      this.#targets.restore(i, t);
      this.#targetEnabled[i] = t.enabled ? 1 : 0;
    });
  }

  /** The slot MsiPqSel names, or -1. */
  #selectedTarget(): number {
    if (this.#sel === MSI_PQ_TARGET_CONFIG) return CONFIG_TARGET;
    return this.#sel < this.queueCount ? 1 + this.#sel : -1;
  }

  /** Writes target t's message: its source's event has reached the driver. */
  #send(t: number): void {
    this.#record.delete(this.#record.sources[t]!);
    this.#targets.write(t);
  }
}
