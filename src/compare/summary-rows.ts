// The comparison as rows of a small table (metric × mode), for the page: which figures, in
// what order, with what precision. DOM-free so it can be tested and reused.

import type { ModeFigures } from "./measure-mode.ts";
import { COMPARE_MODES, designOf, type CompareModeKey } from "./modes.ts";
import type { StepFigures } from "./step-figures.ts";
import type { StepId } from "./workload.ts";

export interface SummaryRow {
  /** Stable id for tests (data-metric). */
  readonly id: string;
  readonly label: string;
  readonly digits: number;
  /** Per mode; NaN where it does not apply (masking the line), a string for the mode used. */
  readonly values: Partial<Record<CompareModeKey, number | string>>;
  /** Shown in the chart as bars. */
  readonly chart?: boolean;
}

const MODE_NAME = { queue: "per-queue", table: "vector table", line: "line" } as const;

export function summaryRows(figures: readonly ModeFigures[]): SummaryRow[] {
  const step = (f: ModeFigures, id: StepId): StepFigures => f.steps.find((s) => s.step === id)!;
  const row = (id: string, label: string, digits: number, get: (f: ModeFigures) => number | string, chart = false): SummaryRow => ({
    id,
    label,
    digits,
    values: Object.fromEntries(figures.map((f) => [f.mode, get(f)])),
    ...(chart ? { chart } : {}),
  });
  return [
    row("used", "Design the guest used", 0, (f) => MODE_NAME[f.observed] + (f.observed === designOf(f.mode) ? "" : " (fallback)")),
    row("irq-per-read", "Interrupts / 4 KiB read", 2, (f) => step(f, "qd1").interruptsPerRequest, true),
    row("acc-per-read", "Register accesses / 4 KiB read", 2, (f) => step(f, "qd1").accessesPerRequest, true),
    row("acc-per-irq", "Register accesses / interrupt", 2, (f) => step(f, "qd1").accessesPerInterrupt),
    row("status-per-irq", "InterruptStatus reads / interrupt", 2, (f) => step(f, "qd1").statusReadsPerInterrupt),
    row("gen-per-irq", "ConfigGeneration reads / interrupt", 2, (f) => step(f, "qd1").generationReadsPerInterrupt),
    row("instr-per-read", "Guest instructions / 4 KiB read (k)", 1, (f) => step(f, "qd1").instructionsPerRequest / 1000),
    row("irq-per-ping", "Interrupts / ping round trip", 2, (f) => step(f, "ping").interruptsPerRequest, true),
    row("acc-per-ping", "Register accesses / ping round trip", 2, (f) => step(f, "ping").accessesPerRequest, true),
    row("bind-msi", "MSI register accesses to bind the drivers", 0, (f) => f.setup.bindMsiAccesses, true),
    row("bind-vector-cmds", "Table commands (CONFIGURE, MAP) to bind", 0, (f) => f.setup.bindVectorCommands),
    row("bind-all", "All register accesses to bind the drivers", 0, (f) => f.setup.bindAccesses),
    row("boot-all", "Register accesses, power-on to prompt", 0, (f) => f.setup.bootAccesses),
    row("per-mask", "Register accesses per mask", 1, (f) => f.mask?.accessesPerMask ?? Number.NaN, true),
    row("per-unmask", "Register accesses per unmask", 1, (f) => f.mask?.accessesPerUnmask ?? Number.NaN),
    row("iops", "4 KiB reads / s (host time)", 0, (f) => step(f, "qd1").throughput),
    row("mbps", "1 MiB reads, MB/s (host time)", 1, (f) => step(f, "seq").throughput),
    row("pings", "Ping round trips / s (host time)", 0, (f) => step(f, "ping").throughput),
    row("us-per-read", "Host µs / 4 KiB read", 0, (f) => step(f, "qd1").hostUsPerRequest),
  ];
}

export function modeLabel(key: CompareModeKey): string {
  return COMPARE_MODES[key].label;
}

/** A cell's text: the number with the row's precision, "n/a" where it does not apply. */
export function cellText(value: number | string | undefined, digits: number): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}
