// The benchmark's results: sections of rows, each row a list of samples per column (one sample
// per run, indexed by run so pairs line up), rendered as one markdown table per section.

import { pairRatios, stats, type Stats } from "./stats.ts";

export interface Column {
  readonly key: string;
  readonly label: string;
}

/** A ratio column: per-run num / den, then the median of those. */
export interface RatioColumn {
  readonly label: string;
  readonly num: string;
  readonly den: string;
}

export interface Row {
  readonly name: string;
  readonly unit: string;
  readonly digits: number;
  /** Column key -> samples by run index (NaN where a run has none). */
  readonly samples: Record<string, number[]>;
}

export class Section {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];

  constructor(
    readonly id: string,
    readonly title: string,
    readonly columns: readonly Column[],
    readonly ratios: readonly RatioColumn[],
  ) {}

  /** Records run `run`'s value of metric `name` in column `column`. */
  add(name: string, unit: string, digits: number, column: string, run: number, value: number): void {
    let row = this.rows.find((r) => r.name === name);
    if (!row) {
      row = { name, unit, digits, samples: {} };
      this.rows.push(row);
    }
    const xs = (row.samples[column] ??= []);
    while (xs.length <= run) xs.push(Number.NaN);
    xs[run] = value;
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  summary(): Record<string, { unit: string; columns: Record<string, Stats>; ratios: Record<string, Stats> }> {
    const out: Record<string, { unit: string; columns: Record<string, Stats>; ratios: Record<string, Stats> }> = {};
    for (const row of this.rows) {
      const columns: Record<string, Stats> = {};
      for (const c of this.columns) if (row.samples[c.key]) columns[c.key] = stats(row.samples[c.key]!);
      const ratios: Record<string, Stats> = {};
      for (const r of this.ratios) {
        const a = row.samples[r.num];
        const b = row.samples[r.den];
        if (a && b) ratios[r.label] = stats(pairRatios(a, b));
      }
      out[row.name] = { unit: row.unit, columns, ratios };
    }
    return out;
  }

  markdown(): string {
    if (this.rows.length === 0) return "";
    const head = ["Metric", "Unit", ...this.columns.map((c) => c.label), ...this.ratios.map((r) => r.label)];
    const lines = [`### ${this.title}`, "", `| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
    for (const row of this.rows) {
      const cells = this.columns.map((c) => cell(row.samples[c.key] ?? [], row.digits));
      const ratios = this.ratios.map((r) => {
        const a = row.samples[r.num];
        const b = row.samples[r.den];
        return a && b ? cell(pairRatios(a, b), 2) : "";
      });
      lines.push(`| ${row.name} | ${row.unit} | ${[...cells, ...ratios].join(" | ")} |`);
    }
    if (this.notes.length) lines.push("", ...this.notes.map((n) => `- ${n}`));
    return lines.join("\n");
  }
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** "median (min–max)", or the single value, or "" when there is none. */
export function cell(xs: readonly number[], digits: number): string {
  const s = stats(xs);
  if (s.n === 0) return "";
  if (s.n === 1 || s.min === s.max) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
