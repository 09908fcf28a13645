// Guest RAM with guard bytes on both sides, and a GuestMemory wrapper that watches every access
// the device model makes: requests outside RAM must be refused (counted here), a view handed
// out must lie inside RAM, and, while a well-behaved driver runs, every write must land where
// that driver allowed the device to write. Bytes past RAM exist only as guards, so a stray
// write through any path that escaped the checks shows up as a changed guard byte.

import type { GuestMemory } from "../virtio/interfaces.ts";
import { RamMemory, inRange } from "../virtio/ram-memory.ts";

/** Not zero, so a stray write of zeros shows too. */
const GUARD_BYTE = 0xa5;
const GUARD_WORD = 0xa5a5a5a5;

export class GuardedRam {
  readonly size: number;
  readonly guard: number;
  /** Guard, RAM, guard. */
  readonly backing: Uint8Array<ArrayBuffer>;
  /** RAM at physical address 0. */
  readonly ram: Uint8Array<ArrayBuffer>;
  readonly #before: Uint32Array;
  readonly #after: Uint32Array;

  constructor(size: number, guard = 256) {
    if (size % 4 !== 0 || guard % 4 !== 0 || guard < 4) throw new RangeError("RAM and guard sizes must be multiples of 4");
    this.size = size;
    this.guard = guard;
    this.backing = new Uint8Array(size + 2 * guard).fill(GUARD_BYTE);
    this.ram = this.backing.subarray(guard, guard + size);
    this.ram.fill(0);
    this.#before = new Uint32Array(this.backing.buffer, 0, guard / 4);
    this.#after = new Uint32Array(this.backing.buffer, guard + size, guard / 4);
  }

  /** Null while every guard byte is intact, else where the first changed one is (relative to RAM). */
  damage(): number | null {
    const b = this.#before;
    for (let i = 0; i < b.length; i++) if (b[i] !== GUARD_WORD) return -this.guard + 4 * i;
    const a = this.#after;
    for (let i = 0; i < a.length; i++) if (a[i] !== GUARD_WORD) return this.size + 4 * i;
    return null;
  }

  /** True when `view` is a piece of this RAM (not of the guards, not of another buffer). */
  holds(view: Uint8Array): boolean {
    return view.buffer === this.backing.buffer && view.byteOffset >= this.guard && view.byteOffset + view.length <= this.guard + this.size;
  }
}

export interface MemoryWatchCounters {
  /** view/readU16/readU32 outside RAM, refused. */
  refusedReads: number;
  /** write/writeU16/writeU32 outside RAM, refused. */
  refusedWrites: number;
  /** busWrite32 that landed in RAM (an MSI whose address the guest set to RAM). */
  busWritesIntoRam: number;
  /** busWrite32 outside RAM, handed to the platform. */
  busWritesOut: number;
  /** Writes that landed in RAM, by any path. */
  writes: number;
}

/** [start, end) byte ranges in which the device may write. */
export type AllowedWrites = () => readonly (readonly [number, number])[];

export class WatchedMemory implements GuestMemory {
  readonly counters: MemoryWatchCounters = { refusedReads: 0, refusedWrites: 0, busWritesIntoRam: 0, busWritesOut: 0, writes: 0 };
  /** Breaches of what the wrapper checks, as messages; the fuzzer fails on the first. */
  readonly violations: string[] = [];
  /** Set while a well-behaved driver runs: writes outside these ranges are violations. */
  allowed: AllowedWrites | null = null;
  /** Sees every bus write the device issues (its MSI messages), wherever it lands. */
  onBusWrite: ((addr: number, data: number) => void) | null = null;
  readonly #inner: RamMemory;
  readonly #ram: GuardedRam;

  constructor(inner: RamMemory, ram: GuardedRam) {
    this.#inner = inner;
    this.#ram = ram;
  }

  get size(): number {
    return this.#inner.size;
  }

  view(addr: number, len: number): Uint8Array | null {
    const v = this.#inner.view(addr, len);
    if (v === null) this.counters.refusedReads++;
    else if (!this.#ram.holds(v) || v.length !== len) this.violations.push(`view(${addr}, ${len}) outside RAM`);
    return v;
  }

  write(addr: number, data: Uint8Array): boolean {
    return this.#wrote(addr, data.length, this.#inner.write(addr, data));
  }

  /** RamMemory's bulk copy out of RAM (the split queue's fast path): watched like view(). */
  copyOut(addr: number, dest: Uint8Array, at: number, n: number): boolean {
    const ok = this.#inner.copyOut(addr, dest, at, n);
    if (!ok) this.counters.refusedReads++;
    return ok;
  }

  /** RamMemory's bulk copy into RAM: watched like write(). */
  copyIn(addr: number, src: Uint8Array, at: number, n: number): boolean {
    return this.#wrote(addr, n, this.#inner.copyIn(addr, src, at, n));
  }

  writeU16(addr: number, value: number): boolean {
    return this.#wrote(addr, 2, this.#inner.writeU16(addr, value));
  }

  writeU32(addr: number, value: number): boolean {
    return this.#wrote(addr, 4, this.#inner.writeU32(addr, value));
  }

  readU16(addr: number): number | null {
    const v = this.#inner.readU16(addr);
    if (v === null) this.counters.refusedReads++;
    return v;
  }

  readU32(addr: number): number | null {
    const v = this.#inner.readU32(addr);
    if (v === null) this.counters.refusedReads++;
    return v;
  }

  busWrite32(addr: number, value: number): boolean {
    this.onBusWrite?.(addr, value);
    if (inRange(addr, 4, this.size)) {
      this.counters.busWritesIntoRam++;
      this.counters.writes++;
      this.#check(addr, 4);
    } else {
      this.counters.busWritesOut++;
    }
    return this.#inner.busWrite32(addr, value);
  }

  #wrote(addr: number, len: number, ok: boolean): boolean {
    if (!ok) this.counters.refusedWrites++;
    else {
      this.counters.writes++;
      this.#check(addr, len);
    }
    return ok;
  }

  #check(addr: number, len: number): void {
    if (this.allowed === null || len === 0) return;
    for (const [start, end] of this.allowed()) if (addr >= start && addr + len <= end) return;
    this.violations.push(`device wrote [${addr}, ${addr + len}) outside the buffers the driver gave it`);
  }
}
