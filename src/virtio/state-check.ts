// The checks every saved state of the transport and its parts shares (transport-state.ts,
// msi-table-state.ts, msi-per-queue-state.ts): an unknown value read from a file becomes a
// checked one, or a StateError names the field. The rules of the registers are not here: each
// is one function beside its setter (queue-config.ts, device-status.ts, msi-table.ts,
// interrupt-mode.ts), and refuse() turns its refusal into a StateError.

import type { Refusal } from "./device-status.ts";

/** Longest lastError / broken text a state carries (saveState cuts longer ones). */
export const MAX_STATE_TEXT = 1024;

/** One saved MSI message (the 2020 table's vector, or a v3 target's effective pair). */
export interface SavedMessage {
  readonly addrLow: number;
  readonly addrHigh: number;
  readonly data: number;
  readonly masked: boolean;
}

/** A refused state: the message names the field. */
export class StateError extends Error {
  constructor(path: string, what: string) {
    super(`saved transport state refused: ${path}: ${what}`);
    this.name = "StateError";
  }
}

/**
 * Throws for a value a register setter's rule refused, with the counter the register path
 * counts for it: a state file is exactly as trusted as the guest's register writes.
 */
export function refuse(path: string, r: Refusal<string> | null): void {
  if (r !== null) throw new StateError(path, `${r.why} (${r.counter})`);
}

export type Obj = Record<string, unknown>;

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new StateError(path, "expected an object");
  return v as Obj;
}
export function onlyKeys(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new StateError(`${path}.${k}`, "unknown field");
  for (const k of keys) if (!(k in o)) throw new StateError(`${path}.${k}`, "missing");
}
export function u32(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new StateError(path, `expected a u32, got ${String(v)}`);
  return v;
}
export function u16(v: unknown, path: string): number {
  const n = u32(v, path);
  if (n > 0xffff) throw new StateError(path, `expected a u16, got ${n}`);
  return n;
}
export function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new StateError(path, "expected true or false");
  return v;
}
export function text(v: unknown, path: string): string | null {
  if (v === null) return null;
  if (typeof v !== "string" || v.length > MAX_STATE_TEXT) throw new StateError(path, `expected null or a string of at most ${MAX_STATE_TEXT} characters`);
  return v;
}
export function arr(v: unknown, length: number, path: string): unknown[] {
  if (!Array.isArray(v)) throw new StateError(path, "expected an array");
  if (v.length !== length) throw new StateError(path, `expected ${length} entries, got ${v.length}`);
  return v;
}
export function words(v: unknown, path: string): [number, number] {
  const a = arr(v, 2, path);
  return [u32(a[0], `${path}[0]`), u32(a[1], `${path}[1]`)];
}

export function staged(v: unknown, path: string): { addrLow: number; addrHigh: number; data: number } {
  const o = obj(v, path);
  onlyKeys(o, ["addrLow", "addrHigh", "data"], path);
  return { addrLow: u32(o.addrLow, `${path}.addrLow`), addrHigh: u32(o.addrHigh, `${path}.addrHigh`), data: u32(o.data, `${path}.data`) };
}
export function message(v: unknown, path: string, extra: readonly string[] = []): SavedMessage & Obj {
  const o = obj(v, path);
  onlyKeys(o, ["addrLow", "addrHigh", "data", "masked", ...extra], path);
  return {
    ...o,
    addrLow: u32(o.addrLow, `${path}.addrLow`),
    addrHigh: u32(o.addrHigh, `${path}.addrHigh`),
    data: u32(o.data, `${path}.data`),
    masked: bool(o.masked, `${path}.masked`),
  };
}

