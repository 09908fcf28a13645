// Per-request figures of one workload step, from what was counted around it. Pure arithmetic,
// so the page and the benchmark derive every number the same way.

import { interruptsSent, type DeviceCounts } from "./device-counts.ts";
import type { Step, StepId } from "./workload.ts";

/** What was measured around one step, on the device it exercised. */
export interface StepRaw {
  /** What the figures are per (Step.per): block requests, MiB read, or ping round trips. */
  requests: number;
  /** Bytes the requests moved (throughput of the sequential read). */
  bytes: number;
  counts: DeviceCounts;
  /** Interrupts of the device in the guest's /proc/interrupts over the step. */
  guestInterrupts: number;
  instructions: number;
  hostMs: number;
}

export interface StepFigures {
  step: StepId;
  requests: number;
  /** Interrupts the device sent (messages or line raises) per request. */
  interruptsPerRequest: number;
  guestInterruptsPerRequest: number;
  accessesPerRequest: number;
  /** Accesses other than the submission's QueueNotify, per interrupt: what taking one costs. */
  accessesPerInterrupt: number;
  statusReadsPerInterrupt: number;
  /** ConfigGeneration reads per interrupt: how a shared handler tells a config change from a queue. */
  generationReadsPerInterrupt: number;
  instructionsPerRequest: number;
  hostUsPerRequest: number;
  throughput: number;
  throughputUnit: Step["throughputUnit"];
}

const per = (x: number, n: number) => (n > 0 ? x / n : Number.NaN);

export function stepFigures(step: Step, raw: StepRaw): StepFigures {
  const n = raw.requests;
  const irqs = interruptsSent(raw.counts);
  const seconds = raw.hostMs / 1000;
  const throughput =
    step.throughputUnit === "MB/s" ? per(raw.bytes / 1e6, seconds) : per(n, seconds);
  return {
    step: step.id,
    requests: n,
    interruptsPerRequest: per(irqs, n),
    guestInterruptsPerRequest: per(raw.guestInterrupts, n),
    accessesPerRequest: per(raw.counts.accesses, n),
    accessesPerInterrupt: per(raw.counts.accesses - raw.counts.notify, irqs),
    statusReadsPerInterrupt: per(raw.counts.status, irqs),
    generationReadsPerInterrupt: per(raw.counts.generation, irqs),
    instructionsPerRequest: per(raw.instructions, n),
    hostUsPerRequest: per(raw.hostMs * 1000, n),
    throughput,
    throughputUnit: step.throughputUnit,
  };
}
