// Writes the results: bench/results/<date>.json and latest.{json,md}, and the tables in
// README.md: the benchmarks between the bench markers, the interrupt-mode comparison ("Do we
// need the vector table?") between its own. A block is rewritten only when its part ran.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostInfo } from "./host.ts";
import type { Section } from "./table.ts";

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";
const MODES_START = "<!-- modes:start -->";
const MODES_END = "<!-- modes:end -->";

export interface Report {
  date: string;
  host: HostInfo;
  runs: number;
  totalSeconds: number;
  config: Record<string, unknown>;
  sections: Section[];
  /** Lines printed above the tables. */
  preamble: string[];
  /** The interrupt-mode comparison, when it ran: its answer in words and its tables. */
  modes?: { verdict: string; sections: Section[] };
}

const ran = (sections: readonly Section[]) => sections.some((s) => s.rows.length > 0);

function runLine(r: Report): string {
  const h = r.host;
  const load = (xs?: number[]) => (xs ? xs.join(" / ") : "?");
  return (
    `Run ${r.date} on ${h.cpuModel}, ${h.cores} cores, ${h.memoryGiB} GiB, Node ${h.node} (${h.platform}); ` +
    `load average (1/5/15 min) ${load(h.loadAvgAtStart)} at start, ${load(h.loadAvgAtEnd)} at end; ${r.totalSeconds.toFixed(0)} s in all.`
  );
}

const tables = (sections: readonly Section[]) => sections.map((s) => s.markdown()).filter(Boolean).flatMap((t) => [t, ""]);

/** The comparison's block: the answer, then its tables (their titles one level down). */
export function modesMarkdown(r: Report): string {
  if (!r.modes) return "";
  return [
    r.modes.verdict,
    "",
    `${runLine(r)} Each cell: median of ${r.runs} run${r.runs === 1 ? "" : "s"} (min–max); the modes run one after another, their order rotating per run.`,
    "",
    ...tables(r.modes.sections).map((t) => t.replace(/^### /m, "#### ")),
  ].join("\n");
}

export function markdown(r: Report): string {
  return [
    runLine(r),
    "",
    ...r.preamble,
    "",
    ...tables(r.sections),
    ...(r.modes && ran(r.modes.sections) ? ["### Do we need the vector table?", "", r.modes.verdict, "", ...tables(r.modes.sections).map((t) => t.replace(/^### /m, "#### "))] : []),
  ].join("\n");
}

/** Replaces the text between `start` and `end` in `text` (markers kept); unchanged without them. */
export function replaceBlock(text: string, start: string, end: string, body: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return text;
  return `${text.slice(0, a)}${start}\n${body.trim()}\n${end}${text.slice(b + end.length)}`;
}

export function writeReport(r: Report, outDir: string, readme: string | null): string {
  const md = markdown(r);
  const json = JSON.stringify(
    {
      date: r.date,
      host: r.host,
      runs: r.runs,
      totalSeconds: r.totalSeconds,
      config: r.config,
      sections: [...r.sections, ...(r.modes?.sections ?? [])].map((s) => ({ id: s.id, title: s.title, notes: s.notes, summary: s.summary(), rows: s.rows })),
      ...(r.modes ? { modesVerdict: r.modes.verdict } : {}),
    },
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  );
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${r.date.replace(/[:.]/g, "-")}.json`), json + "\n");
  writeFileSync(join(outDir, "latest.json"), json + "\n");
  writeFileSync(join(outDir, "latest.md"), md);
  if (readme && existsSync(readme)) {
    let text = readFileSync(readme, "utf8");
    if (ran(r.sections)) {
      const body =
        `\`npm run bench\` (v86 under Node; \`-- --browser\` adds the production page in Chromium, \`--runs N\`, ` +
        `\`--only boot,disk,net,hotpath,modes,browser\`) wrote these tables; also in \`bench/results/latest.md\`, every sample in \`latest.json\`. ` +
        `Rows counted in emulated instructions or per request are exact and steady; wall-clock rows are only as quiet as the host was.\n\n` +
        markdown({ ...r, modes: undefined }).trim();
      text = replaceBlock(text, START, END, body);
    }
    if (r.modes && ran(r.modes.sections)) text = replaceBlock(text, MODES_START, MODES_END, modesMarkdown(r));
    writeFileSync(readme, text);
  }
  return md;
}
