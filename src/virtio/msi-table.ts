// The MSI extension's device state (/work/shared/spec/virtio-mmio-msi.md, binding): a table
// of vectors (address, data, mask, pending), the staged address/data, the vector selector, the
// global enable, and the event-to-vector mapping (fixed or dynamic). Every value comes from the
// guest: out-of-range input is counted and changes nothing; nothing throws.
//
// Choices where the spec is silent (ours):
// - A vector whose address was never configured (still 0) does not send: the event is counted
//   as dropped on that vector. Address 0 is RAM, and a write there would corrupt the guest.
// - MAP_CONFIG / MAP_QUEUE in fixed mapping are counted (`mapInFixedMode`) and ignored.
// - UNMASK sends a pending message through `schedule` (not inside the guest's MMIO access); the
//   task re-checks mask and pending, so a MASK in between still holds it back.

import type { GuestMemory } from "./interfaces.ts";
import { MSI_CMD, MSI_STATE, NO_VECTOR } from "./constants.ts";

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
  /** Runs a function after the current MMIO access (UNMASK's delayed send). */
  readonly schedule: (fn: () => void) => void;
}

export interface MsiVectorCounters {
  sent: number;
  delivered: number;
  dropped: number;
  pendingWhileMasked: number;
}

export interface MsiTableCounters {
  commands: number;
  badCommand: number;
  badVector: number;
  badQueue: number;
  mapInFixedMode: number;
  addrHighNonZero: number;
  /** Events that had no vector (NO_VECTOR mapping). */
  unmapped: number;
  vectors: MsiVectorCounters[];
}

export interface MsiVectorState {
  readonly addrLow: number;
  readonly addrHigh: number;
  readonly data: number;
  readonly masked: boolean;
  readonly pending: boolean;
}

export interface MsiTableState {
  readonly enabled: boolean;
  readonly sharing: boolean;
  readonly vecSel: number;
  readonly staged: { readonly addrLow: number; readonly addrHigh: number; readonly data: number };
  /** Vector of config events and of each queue (NO_VECTOR = none). */
  readonly configVector: number;
  readonly queueVectors: readonly number[];
  readonly vectors: readonly MsiVectorState[];
}

/** What was still pending when MSI was switched off, so the transport can raise the line. */
export interface MsiPendingEvents {
  readonly used: boolean;
  readonly config: boolean;
}

const MAX_VECTORS = 2048;

export class MsiTable {
  readonly vectorCount: number;
  readonly sharing: boolean;
  readonly queueCount: number;
  readonly counters: MsiTableCounters;
  readonly #memory: GuestMemory;
  readonly #schedule: (fn: () => void) => void;
  readonly #addrLow: Uint32Array;
  readonly #addrHigh: Uint32Array;
  readonly #data: Uint32Array;
  readonly #masked: Uint8Array;
  readonly #pending: Uint8Array;
  readonly #queueVector: Uint32Array;
  #configVector = NO_VECTOR;
  #enabled = false;
  #vecSel = 0;
  #stagedLow = 0;
  #stagedHigh = 0;
  #stagedData = 0;

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
    this.#memory = o.memory;
    this.#schedule = o.schedule;
    this.#addrLow = new Uint32Array(o.vectors);
    this.#addrHigh = new Uint32Array(o.vectors);
    this.#data = new Uint32Array(o.vectors);
    this.#masked = new Uint8Array(o.vectors);
    this.#pending = new Uint8Array(o.vectors);
    this.#queueVector = new Uint32Array(o.queues);
    this.counters = {
      commands: 0, badCommand: 0, badVector: 0, badQueue: 0, mapInFixedMode: 0,
      addrHighNonZero: 0, unmapped: 0,
      vectors: Array.from({ length: o.vectors }, () => ({ sent: 0, delivered: 0, dropped: 0, pendingWhileMasked: 0 })),
    };
    this.reset();
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** The MsiState register. */
  get stateRegister(): number {
    return ((this.#enabled ? MSI_STATE.ENABLED : 0) | (this.sharing ? MSI_STATE.SHARING : 0)) >>> 0;
  }

  /** Everything back to power-on: disabled, vectors cleared, unmasked, mappings reset. */
  reset(): void {
    this.#enabled = false;
    this.#addrLow.fill(0);
    this.#addrHigh.fill(0);
    this.#data.fill(0);
    this.#masked.fill(0);
    this.#pending.fill(0);
    this.#vecSel = 0;
    this.#stagedLow = 0;
    this.#stagedHigh = 0;
    this.#stagedData = 0;
    if (this.sharing) {
      this.#configVector = NO_VECTOR;
      this.#queueVector.fill(NO_VECTOR);
    } else {
      this.#configVector = 0;
      for (let q = 0; q < this.queueCount; q++) this.#queueVector[q] = 1 + q;
    }
  }

  // Register writes. Values are kept as u32; range is checked when a command uses them.
  selectVector(value: number): void {
    this.#vecSel = value >>> 0;
  }
  stageAddrLow(value: number): void {
    this.#stagedLow = value >>> 0;
  }
  stageAddrHigh(value: number): void {
    this.#stagedHigh = value >>> 0;
  }
  stageData(value: number): void {
    this.#stagedData = value >>> 0;
  }

  /**
   * Runs an MsiCmd. `queueSel` is the transport's QueueSel (for MAP_QUEUE). Returns the events
   * left pending when DISABLE switched MSI off, otherwise null.
   */
  command(cmd: number, queueSel: number): MsiPendingEvents | null {
    this.counters.commands++;
    const v = this.#vecSel;
    switch (cmd) {
      case MSI_CMD.ENABLE:
        this.#enabled = true;
        return null;
      case MSI_CMD.DISABLE:
        return this.#disable();
      case MSI_CMD.CONFIGURE:
        if (!this.#validVector(v)) return null;
        this.#addrLow[v] = this.#stagedLow;
        this.#addrHigh[v] = this.#stagedHigh;
        this.#data[v] = this.#stagedData;
        return null;
      case MSI_CMD.MASK:
        if (this.#validVector(v)) this.#masked[v] = 1;
        return null;
      case MSI_CMD.UNMASK:
        if (!this.#validVector(v)) return null;
        this.#masked[v] = 0;
        if (this.#pending[v]) this.#schedule(() => this.#flush(v));
        return null;
      case MSI_CMD.MAP_CONFIG:
        if (this.#mapAllowed(v)) this.#configVector = v;
        return null;
      case MSI_CMD.MAP_QUEUE:
        if (!this.#mapAllowed(v)) return null;
        if (!Number.isInteger(queueSel) || queueSel < 0 || queueSel >= this.queueCount) {
          this.counters.badQueue++;
          return null;
        }
        this.#queueVector[queueSel] = v;
        return null;
      default:
        this.counters.badCommand++;
        return null;
    }
  }

  /** A config-change event. */
  signalConfig(): void {
    this.#signal(this.#configVector);
  }

  /** A used-buffer event of queue `index`. */
  signalQueue(index: number): void {
    const v = this.#queueVector[index];
    if (v === undefined) {
      this.counters.badQueue++;
      return;
    }
    this.#signal(v);
  }

  state(): MsiTableState {
    const vectors: MsiVectorState[] = [];
    for (let v = 0; v < this.vectorCount; v++) {
      vectors.push({
        addrLow: this.#addrLow[v]!,
        addrHigh: this.#addrHigh[v]!,
        data: this.#data[v]!,
        masked: this.#masked[v] === 1,
        pending: this.#pending[v] === 1,
      });
    }
    return {
      enabled: this.#enabled,
      sharing: this.sharing,
      vecSel: this.#vecSel,
      staged: { addrLow: this.#stagedLow, addrHigh: this.#stagedHigh, data: this.#stagedData },
      configVector: this.#configVector,
      queueVectors: Array.from(this.#queueVector),
      vectors,
    };
  }

  #validVector(v: number): boolean {
    if (v < this.vectorCount) return true;
    this.counters.badVector++;
    return false;
  }

  #mapAllowed(v: number): boolean {
    if (!this.sharing) {
      this.counters.mapInFixedMode++;
      return false;
    }
    return v === NO_VECTOR || this.#validVector(v);
  }

  #signal(v: number): void {
    if (v === NO_VECTOR || v >= this.vectorCount) {
      this.counters.unmapped++;
      return;
    }
    const c = this.counters.vectors[v]!;
    if (this.#masked[v]) {
      this.#pending[v] = 1;
      c.pendingWhileMasked++;
      return;
    }
    this.#pending[v] = 0;
    this.#send(v, c);
  }

  #flush(v: number): void {
    if (!this.#enabled || this.#masked[v] || !this.#pending[v]) return;
    this.#pending[v] = 0;
    this.#send(v, this.counters.vectors[v]!);
  }

  #send(v: number, c: MsiVectorCounters): void {
    const lo = this.#addrLow[v]!;
    if (this.#addrHigh[v] !== 0) {
      // A 32-bit platform has no bus above 4 GiB: the message cannot go anywhere.
      this.counters.addrHighNonZero++;
      c.dropped++;
      return;
    }
    if (lo === 0) {
      c.dropped++;
      return;
    }
    c.sent++;
    if (this.#memory.busWrite32(lo, this.#data[v]!)) c.delivered++;
    else c.dropped++;
  }

  #disable(): MsiPendingEvents {
    this.#enabled = false;
    const pendingOf = (v: number): boolean => v < this.vectorCount && this.#pending[v] === 1;
    let used = false;
    for (let q = 0; q < this.queueCount; q++) used ||= pendingOf(this.#queueVector[q]!);
    const config = pendingOf(this.#configVector);
    this.#pending.fill(0);
    return { used, config };
  }
}
