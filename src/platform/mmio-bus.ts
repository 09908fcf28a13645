// One 128 KiB block of guest physical address space, registered with v86, holding up to 256
// device windows of 0x200 bytes each (virtio-mmio's size). v86 maps MMIO in 128 KiB blocks
// and has no 16-bit hook: 16-bit accesses arrive as two 8-bit ones; 32-bit accesses to an
// aligned address arrive whole.

import { MMIO_BLOCK_SIZE, MMIO_SLOTS } from "../firmware/mmio-placement.ts";
import { MMIO_WINDOW_SIZE } from "../virtio/constants.ts";

export interface MmioWindow {
  read(offset: number, width: 1 | 2 | 4): number;
  write(offset: number, width: 1 | 2 | 4, value: number): void;
}

export interface MmioBusCounters {
  reads: number;
  writes: number;
  /** Accesses to a slot with no device, or a handler that threw (our bug, contained). */
  unclaimed: number;
  faults: number;
}

export class MmioBus {
  readonly base: number;
  readonly #windows: Array<MmioWindow | undefined> = new Array(MMIO_SLOTS);
  readonly #onFault: (error: unknown) => void;
  readonly counters: MmioBusCounters = { reads: 0, writes: 0, unclaimed: 0, faults: 0 };
  /** Depth of guest accesses in progress: work must not touch the CPU while this is non-zero. */
  #inAccess = 0;

  constructor(base: number, onFault: (error: unknown) => void) {
    if (base % MMIO_BLOCK_SIZE !== 0) throw new Error(`MMIO block base 0x${base.toString(16)} is not 128 KiB aligned`);
    this.base = base;
    this.#onFault = onFault;
  }

  get inGuestAccess(): boolean {
    return this.#inAccess > 0;
  }

  /** Guest physical address of slot `slot`'s window. */
  windowAddress(slot: number): number {
    return this.base + slot * MMIO_WINDOW_SIZE;
  }

  attach(slot: number, window: MmioWindow): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= MMIO_SLOTS) throw new Error(`no MMIO slot ${slot}`);
    if (this.#windows[slot]) throw new Error(`MMIO slot ${slot} is taken`);
    this.#windows[slot] = window;
    return this.windowAddress(slot);
  }

  /** Empties every slot: from then on the block answers as unclaimed (v86 cannot unmap it). */
  detachAll(): void {
    this.#windows.fill(undefined);
  }

  read(addr: number, width: 1 | 2 | 4): number {
    this.counters.reads++;
    const offset = (addr >>> 0) - this.base;
    const window = this.#windows[offset >>> 9];
    if (!window || offset < 0 || offset >= MMIO_BLOCK_SIZE) {
      this.counters.unclaimed++;
      return width === 4 ? -1 : 0xff;
    }
    this.#inAccess++;
    try {
      return window.read(offset & (MMIO_WINDOW_SIZE - 1), width);
    } catch (error) {
      this.counters.faults++;
      this.#onFault(error);
      return 0;
    } finally {
      this.#inAccess--;
    }
  }

  write(addr: number, width: 1 | 2 | 4, value: number): void {
    this.counters.writes++;
    const offset = (addr >>> 0) - this.base;
    const window = this.#windows[offset >>> 9];
    if (!window || offset < 0 || offset >= MMIO_BLOCK_SIZE) {
      this.counters.unclaimed++;
      return;
    }
    this.#inAccess++;
    try {
      window.write(offset & (MMIO_WINDOW_SIZE - 1), width, value >>> 0);
    } catch (error) {
      this.counters.faults++;
      this.#onFault(error);
    } finally {
      this.#inAccess--;
    }
  }
}
