// The comparison's answer in words, generated from its figures so that the sentence and the
// numbers cannot disagree: what the per-queue mode and the vector table cost on the I/O path
// (per request and per interrupt), and off it (setup, masking, masking a shared interrupt).

import type { ModeFigures } from "./measure-mode.ts";
import type { CompareModeKey } from "./modes.ts";
import type { StepId } from "./workload.ts";

/** The figures the verdict reads, per mode (medians when there were several runs). */
export interface VerdictFigures {
  interruptsPerRequest: number;
  accessesPerRequest: number;
  accessesPerInterrupt: number;
  instructionsPerRequest: number;
  bindMsiAccesses: number;
  accessesPerMask: number;
  accessesPerUnmask: number;
}

/** The step whose per-request figures the verdict quotes: one read, one interrupt. */
export const VERDICT_STEP: StepId = "qd1";

export function verdictFigures(f: ModeFigures): VerdictFigures {
  const s = f.steps.find((x) => x.step === VERDICT_STEP)!;
  return {
    interruptsPerRequest: s.interruptsPerRequest,
    accessesPerRequest: s.accessesPerRequest,
    accessesPerInterrupt: s.accessesPerInterrupt,
    instructionsPerRequest: s.instructionsPerRequest,
    bindMsiAccesses: f.setup.bindMsiAccesses,
    accessesPerMask: f.mask?.accessesPerMask ?? Number.NaN,
    accessesPerUnmask: f.mask?.accessesPerUnmask ?? Number.NaN,
  };
}

const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits).replace(/\.0+$/, "") : "n/a");
const accesses = (x: number) => `${num(x, 2)} register access${num(x, 2) === "1" ? "" : "es"}`;
/** Within 2 %: guest instruction counts move a little with timer ticks. */
const same = (a: number, b: number) => Math.abs(a - b) <= 0.02 * Math.max(Math.abs(a), Math.abs(b));

export function verdict(v: Partial<Record<CompareModeKey, VerdictFigures>>): string {
  const q = v.queue;
  const t = v.table;
  if (!q || !t) return "The per-queue mode and the vector table were not both measured, so there is no answer from this run.";
  const out: string[] = [];
  const io = [q.interruptsPerRequest, q.accessesPerRequest, q.accessesPerInterrupt].every((x, i) => same(x, [t.interruptsPerRequest, t.accessesPerRequest, t.accessesPerInterrupt][i]!));
  if (io) {
    out.push(
      `On the I/O path the two designs cost the same: ${num(q.interruptsPerRequest, 2)} interrupt and ${num(q.accessesPerRequest, 2)} register access per 4 KiB read, ` +
        `${num(q.accessesPerInterrupt, 2)} per interrupt, and ${num(q.instructionsPerRequest / 1000, 1)}k against ${num(t.instructionsPerRequest / 1000, 1)}k guest instructions per read.`,
    );
  } else {
    out.push(
      `On the I/O path they differ: per 4 KiB read the per-queue mode takes ${num(q.interruptsPerRequest, 2)} interrupts and ${num(q.accessesPerRequest, 2)} register accesses, ` +
        `the table ${num(t.interruptsPerRequest, 2)} and ${num(t.accessesPerRequest, 2)}.`,
    );
  }
  out.push(
    `Off it, binding both drivers takes ${num(q.bindMsiAccesses)} MSI register accesses with per-queue pairs against ${num(t.bindMsiAccesses)} with the table, ` +
      `and a mask ${num(q.accessesPerMask, 1)} against ${num(t.accessesPerMask, 1)} (unmask ${num(q.accessesPerUnmask, 1)} against ${num(t.accessesPerUnmask, 1)}).`,
  );
  const qs = v["queue-shared"];
  const ts = v["table-shared"];
  if (qs && ts) {
    const cheaper = qs.accessesPerMask > ts.accessesPerMask ? "the table" : qs.accessesPerMask < ts.accessesPerMask ? "the per-queue mode" : null;
    out.push(
      `With shared interrupts a mask costs ${num(qs.accessesPerMask, 1)} accesses in the per-queue mode (one control word per target the interrupt serves) against ${num(ts.accessesPerMask, 1)} with the table (one vector)` +
        (cheaper ? `: there ${cheaper} is cheaper` : "") +
        (same(qs.accessesPerInterrupt, ts.accessesPerInterrupt)
          ? "."
          : `, and taking an interrupt costs ${accesses(qs.accessesPerInterrupt)} against ${num(ts.accessesPerInterrupt, 2)}` +
            "."),
    );
  }
  return out.join(" ");
}
