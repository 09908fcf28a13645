// Decoding of x86 Message Signalled Interrupts, as the Intel SDM (vol. 3, "Message Signalled
// Interrupts") defines the address and data of the 32-bit memory write that carries one.

/** The physical window in which a memory write is an interrupt message, not a RAM write. */
export const MSI_WINDOW = { base: 0xfee00000, size: 0x100000 } as const;

export const DELIVERY_MODE = {
  FIXED: 0,
  LOWEST_PRIORITY: 1,
  SMI: 2,
  NMI: 4,
  INIT: 5,
  EXTINT: 7,
} as const;

export const DELIVERY_MODE_NAMES = [
  "fixed",
  "lowest-priority",
  "smi",
  "reserved-3",
  "nmi",
  "init",
  "reserved-6",
  "extint",
] as const;

export interface MsiMessage {
  /** Address bits 19-12: the destination APIC ID (physical) or logical destination bitmap. */
  readonly destination: number;
  /** Address bit 2: false = physical destination mode, true = logical. */
  readonly logical: boolean;
  /** Address bit 3: redirection hint (lowest-priority arbitration among the destinations). */
  readonly redirectionHint: boolean;
  /** Data bits 7-0. */
  readonly vector: number;
  /** Data bits 10-8. */
  readonly deliveryMode: number;
  /** Data bit 14: assert (1) or deassert (0); only meaningful for level-triggered messages. */
  readonly assert: boolean;
  /** Data bit 15: false = edge, true = level. */
  readonly level: boolean;
}

export function inMsiWindow(addr: number): boolean {
  return addr >= MSI_WINDOW.base && addr < MSI_WINDOW.base + MSI_WINDOW.size;
}

/** Decodes a write of `data` to `addr`; null when addr is outside 0xFEE00000-0xFEEFFFFF. */
export function decodeMsi(addr: number, data: number): MsiMessage | null {
  if (!inMsiWindow(addr)) return null;
  return {
    destination: (addr >>> 12) & 0xff,
    logical: ((addr >>> 2) & 1) === 1,
    redirectionHint: ((addr >>> 3) & 1) === 1,
    vector: data & 0xff,
    deliveryMode: (data >>> 8) & 7,
    assert: ((data >>> 14) & 1) === 1,
    level: ((data >>> 15) & 1) === 1,
  };
}

export type MutableMsiMessage = { -readonly [K in keyof MsiMessage]: MsiMessage[K] };

export function newMsiMessage(): MutableMsiMessage {
  return { destination: 0, logical: false, redirectionHint: false, vector: 0, deliveryMode: 0, assert: false, level: false };
}

/** decodeMsi into `out` (no allocation: the router decodes one message per interrupt); false outside the window. */
export function decodeMsiInto(addr: number, data: number, out: MutableMsiMessage): boolean {
  if (!inMsiWindow(addr)) return false;
  out.destination = (addr >>> 12) & 0xff;
  out.logical = ((addr >>> 2) & 1) === 1;
  out.redirectionHint = ((addr >>> 3) & 1) === 1;
  out.vector = data & 0xff;
  out.deliveryMode = (data >>> 8) & 7;
  out.assert = ((data >>> 14) & 1) === 1;
  out.level = ((data >>> 15) & 1) === 1;
  return true;
}

/** The inverse, for tests and for the UI's description of a vector. */
export function encodeMsi(m: Omit<MsiMessage, "assert"> & { assert?: boolean }): { addr: number; data: number } {
  const addr =
    (MSI_WINDOW.base | ((m.destination & 0xff) << 12) | (m.redirectionHint ? 8 : 0) | (m.logical ? 4 : 0)) >>> 0;
  const data =
    (m.vector & 0xff) | ((m.deliveryMode & 7) << 8) | ((m.assert ?? true) ? 1 << 14 : 0) | (m.level ? 1 << 15 : 0);
  return { addr, data };
}
