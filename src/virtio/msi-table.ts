// The 2020 layout's vector table (docs/virtio-mmio-msi.md): vectors (address, data, mask, in
// MsiMessages), the staged address/data, the vector selector, whether the table mode is on
// (ENABLE and DISABLE, through InterruptDelivery), and the event-to-vector
// mapping (fixed or dynamic). A vector's pending bit is not stored: it is set while an
// undelivered event in the device's EventRecord is mapped to it (and the table is on), so
// it follows the record through every mode change and remapping. Every value comes from the
// guest: out-of-range input is counted and changes nothing; nothing throws.
//
// Sending is synchronous: the message is written to the bus at once, and the platform decides
// when the CPU may take it (never inside the guest's own register access).
//
// Choices where the 2020 proposal is silent (ours, in docs/virtio-mmio-msi.md):
// - A vector sends only with a usable address: high word 0 and low word non-zero. Otherwise
//   the event stays pending on it (Linux writes a zero message when it tears an interrupt
//   down; address 0 is RAM, and a write there would corrupt the guest).
// - MAP_CONFIG / MAP_QUEUE in fixed mapping are counted (`mapInFixedMode`) and ignored.

import type { GuestMemory } from "./interfaces.ts";
import { MSI_CMD, MSI_STATE, NO_VECTOR } from "./constants.ts";
import type { EventRecord, InterruptEvent } from "./event-record.ts";
import type { Refusal } from "./device-status.ts";
import { InterruptModeState } from "./interrupt-mode.ts";
import { MsiMessages, type MsiMessage, type MsiMessageCounters, type MsiStagedMessage, type MsiStagedRegister } from "./msi-messages.ts";

export interface MsiTableOptions {
  /** MsiVecNum: how many vectors the table has (1..2048). */
  readonly vectors: number;
  /** msi_sharing: dynamic mapping (MAP_*) instead of the fixed one. */
  readonly sharing: boolean;
  /** Number of virtqueues of the device. */
  readonly queues: number;
  /**
   * Tests only: accept a fixed mapping with fewer than 1 + queues vectors (the spec forbids it)
   * to check that a driver does not use such a device; events of queues past the table are
   * counted as `unmapped`.
   */
  readonly allowShortFixedTable?: boolean;
  readonly memory: GuestMemory;
  /** The device's undelivered events (shared with InterruptDelivery). */
  readonly record: EventRecord;
  /**
   * The device's interrupt mode (interrupt-mode.ts), shared with InterruptDelivery; the table
   * is on while it is "table". Absent: the table's own (layout "2020").
   */
  readonly mode?: InterruptModeState;
}

export type MsiVectorCounters = MsiMessageCounters;

export interface MsiTableCounters {
  commands: number;
  badCommand: number;
  badVector: number;
  badQueue: number;
  mapInFixedMode: number;
  /** Events held on a vector whose address high word is non-zero (no bus above 4 GiB). */
  addrHighNonZero: number;
  /** Events whose source had no vector (NO_VECTOR mapping): kept undelivered, not sent. */
  unmapped: number;
  vectors: MsiVectorCounters[];
}

/**
 * What restore() takes: the table's own state, checked by the caller (transport-state.ts). Whether
 * the table is on is the device's mode, restored through InterruptDelivery.
 */
export interface MsiTableRestore {
  readonly vecSel: number;
  readonly staged: MsiStagedMessage;
  readonly configVector: number;
  readonly queueVectors: readonly number[];
  readonly vectors: readonly MsiMessage[];
}

export interface MsiVectorState extends MsiMessage {
  readonly pending: boolean;
}

export interface MsiTableState {
  readonly enabled: boolean;
  readonly sharing: boolean;
  readonly vecSel: number;
  readonly staged: MsiStagedMessage;
  /** Vector of config events and of each queue (NO_VECTOR = none). */
  readonly configVector: number;
  readonly queueVectors: readonly number[];
  readonly vectors: readonly MsiVectorState[];
}

const MAX_VECTORS = 2048;

/**
 * The vector rule of CONFIGURE, MASK, UNMASK and MAP_*: a vector of the table (MAP_* also
 * take NO_VECTOR, `orNone`). Null when `v` is one, else why not, under the counter the
 * register path counts. The one copy: command() counts it, a saved state's check refuses with
 * it.
 */
export function vectorRefusal(v: number, vectors: number, orNone: boolean): Refusal<"badVector"> | null {
  if (v < vectors || (orNone && v === NO_VECTOR)) return null;
  return { counter: "badVector", why: `vector ${v} beyond the table of ${vectors}` };
}

/**
 * The fixed mapping (no msi_sharing): configuration changes on vector 0, queue q on 1 + q, or
 * none past a short table (tests only). The one copy: reset() sets it, a saved state's check
 * compares with it.
 */
export function fixedQueueVector(q: number, vectors: number): number {
  return 1 + q < vectors ? 1 + q : NO_VECTOR;
}
export const FIXED_CONFIG_VECTOR = 0;

export class MsiTable {
  readonly vectorCount: number;
  readonly sharing: boolean;
  readonly queueCount: number;
  readonly counters: MsiTableCounters;
  readonly #record: EventRecord;
  readonly #vectors: MsiMessages<MsiVectorCounters>;
  readonly #queueVector: Uint32Array;
  readonly #mode: InterruptModeState;
  #configVector = NO_VECTOR;
  #vecSel = 0;

  constructor(o: MsiTableOptions) {
    // Host configuration errors, not guest input: fail loudly at construction.
    if (!Number.isInteger(o.vectors) || o.vectors < 1 || o.vectors > MAX_VECTORS) {
      throw new RangeError(`MSI vectors must be 1..${MAX_VECTORS}, got ${o.vectors}`);
    }
    if (!o.sharing && o.vectors < 1 + o.queues && o.allowShortFixedTable !== true) {
      throw new RangeError(`fixed MSI mapping needs ${1 + o.queues} vectors, got ${o.vectors}`);
    }
    this.vectorCount = o.vectors;
    this.sharing = o.sharing;
    this.queueCount = o.queues;
    this.#record = o.record;
    this.#mode = o.mode ?? new InterruptModeState("2020");
    // Our own wiring error: the table's mode value is one of a 2020 device.
    if (this.#mode.layout !== "2020") throw new Error(`MsiTable: a mode of layout ${String(this.#mode.layout)}`);
    this.#queueVector = new Uint32Array(o.queues);
    this.counters = {
      commands: 0, badCommand: 0, badVector: 0, badQueue: 0, mapInFixedMode: 0,
      addrHighNonZero: 0, unmapped: 0,
      vectors: Array.from({ length: o.vectors }, () => ({ sent: 0, delivered: 0, dropped: 0, pendingWhileMasked: 0, heldNoAddress: 0 })),
    };
    this.#vectors = new MsiMessages(o.vectors, o.memory, this.counters.vectors, this.counters);
    this.reset();
  }

  /** The device's mode value (InterruptDelivery reads and moves the same one). */
  get modeState(): InterruptModeState {
    return this.#mode;
  }

  /** The table mode is on. */
  get enabled(): boolean {
    return this.#mode.value === "table";
  }

  /** The MsiState register. */
  get stateRegister(): number {
    return ((this.enabled ? MSI_STATE.ENABLED : 0) | (this.sharing ? MSI_STATE.SHARING : 0)) >>> 0;
  }

  /** Everything back to power-on: disabled, vectors cleared, unmasked, mappings reset (the record is the caller's). */
  reset(): void {
    this.#mode.reset();
    this.#vectors.reset();
    this.#vecSel = 0;
    if (this.sharing) {
      this.#configVector = NO_VECTOR;
      this.#queueVector.fill(NO_VECTOR);
    } else {
      this.#configVector = FIXED_CONFIG_VECTOR;
      // A short table (tests only) has no vector for the last queues: their events are unmapped.
      for (let q = 0; q < this.queueCount; q++) this.#queueVector[q] = fixedQueueVector(q, this.vectorCount);
    }
  }

  // Register writes. Values are kept as u32; range is checked when a command uses them.
  selectVector(value: number): void {
    this.#vecSel = value >>> 0;
  }
  stage(register: MsiStagedRegister, value: number): void {
    this.#vectors.stage(register, value);
  }

  /**
   * Runs an MsiCmd. `queueSel` is the transport's QueueSel (for MAP_QUEUE). The caller
   * (InterruptDelivery) then shows the record in the new mode: `flush()` while enabled, the
   * line after DISABLE.
   */
  command(cmd: number, queueSel: number): void {
    this.counters.commands++;
    const v = this.#vecSel;
    switch (cmd) {
      case MSI_CMD.ENABLE:
        this.#mode.move("table");
        return;
      case MSI_CMD.DISABLE:
        this.#mode.move("line");
        return;
      case MSI_CMD.CONFIGURE:
        if (this.#validVector(v)) this.#vectors.latch(v);
        return;
      case MSI_CMD.MASK:
      case MSI_CMD.UNMASK:
        if (this.#validVector(v)) this.#vectors.setMasked(v, cmd === MSI_CMD.MASK);
        return;
      case MSI_CMD.MAP_CONFIG:
        if (this.#mapAllowed(v)) this.#configVector = v;
        return;
      case MSI_CMD.MAP_QUEUE:
        if (!this.#mapAllowed(v)) return;
        if (!Number.isInteger(queueSel) || queueSel < 0 || queueSel >= this.queueCount) {
          this.counters.badQueue++;
          return;
        }
        this.#queueVector[queueSel] = v;
        return;
      default:
        this.counters.badCommand++;
        return;
    }
  }

  /** The vector that carries `e`'s events now, or NO_VECTOR. */
  vectorOf(e: InterruptEvent): number {
    if (e.kind === "config") return this.#configVector;
    return this.#queueVector[e.queue] ?? NO_VECTOR;
  }

  /**
   * A recorded event, while enabled: sent at once if its vector is unmasked and has a usable
   * address (which delivers every event mapped to that vector), else left pending there.
   */
  signal(e: InterruptEvent): void {
    const v = this.vectorOf(e);
    if (v === NO_VECTOR) {
      this.counters.unmapped++;
      return;
    }
    if (!this.#vectors.held(v)) this.#send(v);
  }

  /** Sends every vector that is pending and may send now (after ENABLE, UNMASK, CONFIGURE, MAP). */
  flush(): void {
    if (!this.enabled || this.#record.size === 0) return;
    for (const e of this.#record.sources) {
      if (!this.#record.has(e)) continue;
      const v = this.vectorOf(e);
      if (v !== NO_VECTOR && this.#vectors.ready(v)) this.#send(v);
    }
  }

  /** The vector's pending bit: MSI on and an undelivered event mapped to it. */
  pending(v: number): boolean {
    if (!this.enabled || this.#record.size === 0) return false;
    return this.#record.sources.some((e) => this.#record.has(e) && this.vectorOf(e) === v);
  }

  state(): MsiTableState {
    const vectors: MsiVectorState[] = [];
    for (let v = 0; v < this.vectorCount; v++) vectors.push({ ...this.#vectors.message(v), pending: this.pending(v) });
    return {
      enabled: this.enabled,
      sharing: this.sharing,
      vecSel: this.#vecSel,
      staged: this.#vectors.staged,
      configVector: this.#configVector,
      queueVectors: Array.from(this.#queueVector),
      vectors,
    };
  }

  /**
   * Restore hook: the saved table, values checked by the caller (lengths match this table).
   * Sends nothing: what was pending stays pending in the record, as it was at the save.
   */
  restore(s: MsiTableRestore): void {
    this.#vecSel = s.vecSel >>> 0;
    this.#vectors.restoreStaged(s.staged);
    s.vectors.forEach((m, v) => this.#vectors.restore(v, m));
    this.#configVector = s.configVector >>> 0;
    s.queueVectors.forEach((v, q) => (this.#queueVector[q] = v >>> 0));
  }

  #validVector(v: number, orNone = false): boolean {
    const refused = vectorRefusal(v, this.vectorCount, orNone);
    if (refused === null) return true;
    this.counters[refused.counter]++;
    return false;
  }

  #mapAllowed(v: number): boolean {
    if (!this.sharing) {
      this.counters.mapInFixedMode++;
      return false;
    }
    return this.#validVector(v, true);
  }

  /** Writes vector v's message; every event mapped to v has now reached the driver. */
  #send(v: number): void {
    for (const e of this.#record.sources) if (this.vectorOf(e) === v) this.#record.delete(e);
    this.#vectors.write(v);
  }
}
