// A device can make the guest no faster than the guest's own instructions allow. The limit of a
// workload is the emulator's speed (guest instructions per second, measured in the same boot)
// divided by the guest instructions one unit of the workload costs; the efficiency is what the
// workload achieved over that limit: the share of its time the emulator spent running the
// guest's own instructions, the rest being host-side work and waiting.

import type { Section } from "./table.ts";

/** Guest instructions per second from a timed loop: `instructions` run in `ns` guest nanoseconds. */
export function instructionRate(instructions: number, ns: number): number {
  return instructions > 0 && ns > 0 ? instructions / (ns / 1e9) : Number.NaN;
}

/** The most units per second `rate` instructions per second allow at `perUnit` instructions a unit. */
export function limitPerSecond(rate: number, perUnit: number): number {
  return rate > 0 && perUnit > 0 ? rate / perUnit : Number.NaN;
}

/** Achieved over limit, both in units per second; NaN where either is missing. */
export function efficiency(achieved: number, limit: number): number {
  return achieved >= 0 && limit > 0 ? achieved / limit : Number.NaN;
}

/** One workload's throughput and guest cost, in the same unit (a MB, a read, ...). */
export interface Workload {
  /** As it reads in the row names, e.g. "sequential read". */
  readonly name: string;
  /** Unit of the throughput, e.g. "MB/s", and the digits it is shown with. */
  readonly unit: string;
  readonly digits: number;
  /** Units per second the workload reached. */
  readonly achieved: number;
  /** Guest instructions per unit. */
  readonly instructionsPerUnit: number;
}

/** Adds the workload's limit and efficiency rows to `s` for one variant and run. */
export function addLimitRows(s: Section, rate: number, w: Workload, column: string, run: number): void {
  const limit = limitPerSecond(rate, w.instructionsPerUnit);
  s.add(`Limit, ${w.name} (emulator speed ÷ guest instructions)`, w.unit, w.digits, column, run, limit);
  s.add(`Efficiency, ${w.name} (achieved ÷ limit)`, "", 2, column, run, efficiency(w.achieved, limit));
}
