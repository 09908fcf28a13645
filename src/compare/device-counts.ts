// What a device's transport counted, boiled down to what the comparison asks: register
// accesses by kind and interrupts sent. Snapshots are plain numbers, so a step's cost is the
// difference of two snapshots.

import type { AttachedDevice, Machine } from "../machine/machine.ts";
import type { RegisterName } from "../virtio/constants.ts";

/** The 2020 layout's vector-table registers (docs/virtio-mmio-msi.md, "Registers"). */
const TABLE_REGS: ReadonlySet<string> = new Set(["MsiVecNum", "MsiState", "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData"]);
/** The v3 layout's registers (docs/virtio-mmio-msi-v3.md, "Registers"). */
const PER_QUEUE_REGS: ReadonlySet<string> = new Set([
  "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl",
  "ConfigMsiAddrLow", "ConfigMsiAddrHigh", "ConfigMsiData", "ConfigMsiControl", "MsiControl", "MsiVectorHint",
]);

export type RegisterKind = "table" | "perQueue" | "status" | "ack" | "notify" | "generation" | "other";

/** Which job a register does in this comparison. */
export function registerKind(name: RegisterName | string): RegisterKind {
  if (TABLE_REGS.has(name)) return "table";
  if (PER_QUEUE_REGS.has(name)) return "perQueue";
  if (name === "InterruptStatus") return "status";
  if (name === "InterruptACK") return "ack";
  if (name === "QueueNotify") return "notify";
  // A handler of one interrupt shared by config changes and queues reads it to tell them apart.
  if (name === "ConfigGeneration") return "generation";
  return "other";
}

export interface DeviceCounts {
  /** Every register access (reads and writes; config space is not a register). */
  accesses: number;
  /** Of those, on the 2020 layout's table registers. */
  table: number;
  /** Of those, on the v3 layout's MSI registers (QueueMsi*, ConfigMsi*, MsiControl, MsiVectorHint). */
  perQueue: number;
  status: number;
  ack: number;
  notify: number;
  generation: number;
  /** Messages the device sent (a vector's or a target's, whichever mode), and times it raised its line. */
  msis: number;
  lineRaises: number;
}

export function deviceCounts(d: AttachedDevice): DeviceCounts {
  const c = d.transport.counters;
  const sent = (xs: readonly { sent: number }[] | undefined) => (xs ?? []).reduce((sum, x) => sum + x.sent, 0);
  // Messages, not events: one table message may carry several sources, and a masked one none.
  const msis = sent(d.transport.msi?.counters.vectors) + sent(d.transport.msiPerQueue?.counters.targets);
  const out: DeviceCounts = { accesses: 0, table: 0, perQueue: 0, status: 0, ack: 0, notify: 0, generation: 0, msis, lineRaises: c.interrupts.lineRaised };
  for (const side of [c.reads, c.writes] as const) {
    for (const [name, n] of Object.entries(side) as [string, number][]) {
      if (n === 0) continue;
      out.accesses += n;
      const kind = registerKind(name);
      if (kind !== "other") out[kind] += n;
    }
  }
  return out;
}

export function subtractCounts(after: DeviceCounts, before: DeviceCounts): DeviceCounts {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof DeviceCounts)[]) out[k] = after[k] - before[k];
  return out;
}

export function addCounts(a: DeviceCounts, b: DeviceCounts): DeviceCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof DeviceCounts)[]) out[k] = a[k] + b[k];
  return out;
}

/** Interrupts the device sent, whichever way. */
export function interruptsSent(c: DeviceCounts): number {
  return c.msis + c.lineRaises;
}

/**
 * v86's count of emulated guest instructions (a 32-bit counter in the wasm memory): what the
 * guest executed, whatever the host did meanwhile. Differences are taken modulo 2^32.
 */
export function guestInstructions(machine: Machine): number {
  return machine.instructions;
}

export function instructionsBetween(before: number, after: number): number {
  return (after - before) >>> 0;
}
