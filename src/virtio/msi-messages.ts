// What the 2020 layout's vector table (docs/virtio-mmio-msi.md) and the v3 layout's targets
// (docs/virtio-mmio-msi-v3.md) have in common: a row of address/data pairs with a mask each, the staged
// address/data that a command copies into one of them, and the rule of when one may send: only
// unmasked and with a usable address (high word 0, low word non-zero; address 0 is RAM, and
// Linux writes a zero message when it tears an interrupt down). Kept in one place so the two
// modes cannot drift apart on it. The owner decides which events a message delivers; this
// class only holds, checks, counts and writes.

import type { GuestMemory } from "./interfaces.ts";

export interface MsiMessageCounters {
  sent: number;
  delivered: number;
  /** Messages the bus refused (no MSI target, no RAM there). */
  dropped: number;
  /** Events that found the message masked and left its pending bit set. */
  pendingWhileMasked: number;
  /** Events held because the address is not usable (0, or above 4 GiB). */
  heldNoAddress: number;
}

export interface MsiStagedMessage {
  readonly addrLow: number;
  readonly addrHigh: number;
  readonly data: number;
}

/** The 2020 layout's staging registers (MsiAddrLow/High/Data), shared by every vector. */
export type MsiStagedRegister = keyof MsiStagedMessage;

export interface MsiMessage extends MsiStagedMessage {
  readonly masked: boolean;
}

export class MsiMessages<C extends MsiMessageCounters> {
  readonly size: number;
  /** One counter set per message. */
  readonly counters: readonly C[];
  readonly #memory: GuestMemory;
  /** The owner's counter set that holds `addrHighNonZero`. */
  readonly #global: { addrHighNonZero: number };
  readonly #addrLow: Uint32Array;
  readonly #addrHigh: Uint32Array;
  readonly #data: Uint32Array;
  readonly #masked: Uint8Array;
  #stagedLow = 0;
  #stagedHigh = 0;
  #stagedData = 0;

  constructor(size: number, memory: GuestMemory, counters: readonly C[], global: { addrHighNonZero: number }) {
    this.size = size;
    this.counters = counters;
    this.#memory = memory;
    this.#global = global;
    this.#addrLow = new Uint32Array(size);
    this.#addrHigh = new Uint32Array(size);
    this.#data = new Uint32Array(size);
    this.#masked = new Uint8Array(size);
  }

  /** Power-on: every address and data 0, unmasked, nothing staged. */
  reset(): void {
    this.#addrLow.fill(0);
    this.#addrHigh.fill(0);
    this.#data.fill(0);
    this.#masked.fill(0);
    this.#stagedLow = 0;
    this.#stagedHigh = 0;
    this.#stagedData = 0;
  }

  /** A write of a staging register, kept as u32. */
  stage(register: MsiStagedRegister, value: number): void {
    const v = value >>> 0;
    if (register === "addrLow") this.#stagedLow = v;
    else if (register === "addrHigh") this.#stagedHigh = v;
    else this.#stagedData = v;
  }

  get staged(): MsiStagedMessage {
    return { addrLow: this.#stagedLow, addrHigh: this.#stagedHigh, data: this.#stagedData };
  }

  /** Copies the staged address and data into message i, all at once; they stay staged. */
  latch(i: number): void {
    this.#addrLow[i] = this.#stagedLow;
    this.#addrHigh[i] = this.#stagedHigh;
    this.#data[i] = this.#stagedData;
  }

  /** Sets message i's address and data in one step (a v3 Data write: "Writing a pair"). */
  commit(i: number, addrLow: number, addrHigh: number, data: number): void {
    this.#addrLow[i] = addrLow >>> 0;
    this.#addrHigh[i] = addrHigh >>> 0;
    this.#data[i] = data >>> 0;
  }

  /** Message i back to power-on: address and data 0, unmasked (a queue reset's target). */
  resetOne(i: number): void {
    this.commit(i, 0, 0, 0);
    this.#masked[i] = 0;
  }

  setMasked(i: number, masked: boolean): void {
    this.#masked[i] = masked ? 1 : 0;
  }

  message(i: number): MsiMessage {
    return { addrLow: this.#addrLow[i]!, addrHigh: this.#addrHigh[i]!, data: this.#data[i]!, masked: this.#masked[i] === 1 };
  }

  /** Restore hook (transport-state.ts): message i as saved, values already checked. */
  restore(i: number, m: MsiMessage): void {
    this.#addrLow[i] = m.addrLow >>> 0;
    this.#addrHigh[i] = m.addrHigh >>> 0;
    this.#data[i] = m.data >>> 0;
    this.#masked[i] = m.masked ? 1 : 0;
  }

  /** Restore hook: the staging registers as saved. */
  restoreStaged(s: MsiStagedMessage): void {
    this.#stagedLow = s.addrLow >>> 0;
    this.#stagedHigh = s.addrHigh >>> 0;
    this.#stagedData = s.data >>> 0;
  }

  /** Unmasked, with a usable address. */
  ready(i: number): boolean {
    return this.#masked[i] === 0 && this.#addrHigh[i] === 0 && this.#addrLow[i] !== 0;
  }

  /** For a new event: true (and counted by reason) when message i cannot go out now. */
  held(i: number): boolean {
    const c = this.counters[i]!;
    if (this.#masked[i]) c.pendingWhileMasked++;
    else if (this.#addrHigh[i] !== 0) {
      this.#global.addrHighNonZero++;
      c.heldNoAddress++;
    } else if (this.#addrLow[i] === 0) c.heldNoAddress++;
    else return false;
    return true;
  }

  /** Writes message i to the bus. The caller has already marked what it delivers. */
  write(i: number): void {
    const c = this.counters[i]!;
    c.sent++;
    if (this.#memory.busWrite32(this.#addrLow[i]!, this.#data[i]!)) c.delivered++;
    else c.dropped++;
  }
}
