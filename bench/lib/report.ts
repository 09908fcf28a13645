// Writes the results: bench/results/<date>.json and latest.{json,md}, and the table in
// README.md between the bench markers.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostInfo } from "./host.ts";
import type { Section } from "./table.ts";

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

export interface Report {
  date: string;
  host: HostInfo;
  runs: number;
  totalSeconds: number;
  config: Record<string, unknown>;
  sections: Section[];
  /** Lines printed above the tables. */
  preamble: string[];
}

export function markdown(r: Report): string {
  const h = r.host;
  const load = (xs?: number[]) => (xs ? xs.join(" / ") : "?");
  return [
    `Run ${r.date} on ${h.cpuModel}, ${h.cores} cores, ${h.memoryGiB} GiB, Node ${h.node} (${h.platform}); ` +
      `load average (1/5/15 min) ${load(h.loadAvgAtStart)} at start, ${load(h.loadAvgAtEnd)} at end; ${r.totalSeconds.toFixed(0)} s in all.`,
    "",
    ...r.preamble,
    "",
    ...r.sections.map((s) => s.markdown()).filter(Boolean).flatMap((t) => [t, ""]),
  ].join("\n");
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
      sections: r.sections.map((s) => ({ id: s.id, title: s.title, notes: s.notes, summary: s.summary(), rows: s.rows })),
    },
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  );
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${r.date.replace(/[:.]/g, "-")}.json`), json + "\n");
  writeFileSync(join(outDir, "latest.json"), json + "\n");
  writeFileSync(join(outDir, "latest.md"), md);
  if (readme && existsSync(readme)) {
    const text = readFileSync(readme, "utf8");
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      const body =
        `${START}\n\`npm run bench\` (v86 under Node; \`-- --browser\` adds the production page in Chromium, \`--runs N\`, ` +
        `\`--only boot,disk,net,hotpath,browser\`) wrote these tables; also in \`bench/results/latest.md\`, every sample in \`latest.json\`. ` +
        `Rows counted in emulated instructions or per request are exact and steady; wall-clock rows are only as quiet as the host was.\n\n${md.trim()}\n${END}`;
      writeFileSync(readme, text.slice(0, a) + body + text.slice(b + END.length));
    }
  }
  return md;
}
