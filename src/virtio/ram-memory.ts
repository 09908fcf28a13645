// GuestMemory over a flat byte array that starts at physical address 0. The platform passes
// v86's `cpu.mem8` getter (v86 may replace that view, so it is fetched per call); tests pass
// a plain Uint8Array. Every address the guest controls is checked here; nothing throws.

import type { GuestMemory } from "./interfaces.ts";

export interface RamMemoryOptions {
  /** Called after bytes [start, end) changed, so the platform can drop v86's JIT cache there. */
  onWrite?: (start: number, end: number) => void;
  /** Non-RAM bus writes (the platform's MSI router). True when something accepted the write. */
  busWrite?: (addr: number, value: number) => boolean;
}

/** Copies up to this many bytes go byte by byte (see copyOut). */
const SMALL_COPY = 32;

/** True when [addr, addr + len) is a range of integers inside [0, size). */
export function inRange(addr: number, len: number, size: number): boolean {
  // Number.isInteger rejects NaN and the infinities; subtracting avoids addr + len overflowing
  // past 2^53 where doubles stop being exact.
  return Number.isInteger(addr) && Number.isInteger(len) && addr >= 0 && len >= 0 && addr <= size - len;
}

export class RamMemory implements GuestMemory {
  readonly #ram: () => Uint8Array;
  readonly #onWrite: ((start: number, end: number) => void) | undefined;
  readonly #busWrite: ((addr: number, value: number) => boolean) | undefined;

  constructor(ram: Uint8Array | (() => Uint8Array), options: RamMemoryOptions = {}) {
    this.#ram = typeof ram === "function" ? ram : () => ram;
    this.#onWrite = options.onWrite;
    this.#busWrite = options.busWrite;
  }

  get size(): number {
    return this.#ram().length;
  }

  view(addr: number, len: number): Uint8Array | null {
    const ram = this.#ram();
    return inRange(addr, len, ram.length) ? ram.subarray(addr, addr + len) : null;
  }

  write(addr: number, data: Uint8Array): boolean {
    const ram = this.#ram();
    if (!inRange(addr, data.length, ram.length)) return false;
    ram.set(data, addr);
    this.#onWrite?.(addr, addr + data.length);
    return true;
  }

  /**
   * Copies RAM [addr, addr + n) into dest[at..]; false (nothing copied) when the range leaves
   * RAM or dest. Short pieces (headers, status bytes) go byte by byte: cheaper than making the
   * subarray view that a typed-array copy needs.
   */
  copyOut(addr: number, dest: Uint8Array, at: number, n: number): boolean {
    const ram = this.#ram();
    if (!inRange(addr, n, ram.length) || !inRange(at, n, dest.length)) return false;
    if (n <= SMALL_COPY) {
      for (let i = 0; i < n; i++) dest[at + i] = ram[addr + i]!;
    } else {
      dest.set(ram.subarray(addr, addr + n), at);
    }
    return true;
  }

  /** Copies src[at, at + n) into RAM at addr, then reports the change; false when it does not fit. */
  copyIn(addr: number, src: Uint8Array, at: number, n: number): boolean {
    const ram = this.#ram();
    if (!inRange(addr, n, ram.length) || !inRange(at, n, src.length)) return false;
    if (n <= SMALL_COPY) {
      for (let i = 0; i < n; i++) ram[addr + i] = src[at + i]!;
    } else {
      ram.set(at === 0 && n === src.length ? src : src.subarray(at, at + n), addr);
    }
    this.#onWrite?.(addr, addr + n);
    return true;
  }

  writeU16(addr: number, value: number): boolean {
    const ram = this.#ram();
    if (!inRange(addr, 2, ram.length)) return false;
    ram[addr] = value;
    ram[addr + 1] = value >>> 8;
    this.#onWrite?.(addr, addr + 2);
    return true;
  }

  writeU32(addr: number, value: number): boolean {
    const ram = this.#ram();
    if (!inRange(addr, 4, ram.length)) return false;
    ram[addr] = value;
    ram[addr + 1] = value >>> 8;
    ram[addr + 2] = value >>> 16;
    ram[addr + 3] = value >>> 24;
    this.#onWrite?.(addr, addr + 4);
    return true;
  }

  readU16(addr: number): number | null {
    const ram = this.#ram();
    if (!inRange(addr, 2, ram.length)) return null;
    return ram[addr]! | (ram[addr + 1]! << 8);
  }

  readU32(addr: number): number | null {
    const ram = this.#ram();
    if (!inRange(addr, 4, ram.length)) return null;
    return (ram[addr]! | (ram[addr + 1]! << 8) | (ram[addr + 2]! << 16) | (ram[addr + 3]! << 24)) >>> 0;
  }

  busWrite32(addr: number, value: number): boolean {
    if (this.writeU32(addr, value)) return true;
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xfffffffc) return false;
    try {
      return this.#busWrite?.(addr, value >>> 0) === true;
    } catch {
      // A platform bug must not turn into an exception inside the device model.
      return false;
    }
  }
}
