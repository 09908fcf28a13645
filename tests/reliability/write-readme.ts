// Writes README's Reliability table between <!-- reliability:start --> and
// <!-- reliability:end --> from the figures the tests recorded (latest/*.json). Run by
// `npm run reliability:readme`, the last step of `npm test`. A row whose figure no run has
// recorded says so instead of showing an old number.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LATEST_DIR, type ReliabilityFigure } from "./record.ts";
import { ROWS } from "./rows.ts";

const README = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "README.md");
const START = "<!-- reliability:start -->";
const END = "<!-- reliability:end -->";

function load(id: string): ReliabilityFigure | null {
  const file = join(LATEST_DIR, `${id}.json`);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as ReliabilityFigure;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function reliabilityTable(): string {
  const lines = [
    "Written by the tests that measured them (`tests/reliability/`: each test records its figures; `npm test` ends by writing this table). Dates are each run's, UTC.",
    "",
    "| What | Test | Last run |",
    "|---|---|---|",
  ];
  for (const row of ROWS) {
    const parts = row.figures.map((id) => {
      const f = load(id);
      return f === null ? `(${id}: not recorded yet)` : `${f.text} (${f.at.slice(0, 16).replace("T", " ")}, ${f.host})`;
    });
    lines.push(`| ${cell(row.what)} | ${cell(row.test)} | ${cell(parts.join("; "))} |`);
  }
  const missing = ROWS.some((r) => r.figures.some((id) => load(id) === null));
  lines.push("", missing ? "A row without a figure has not run since the tests began to write this table." : "Data lost in all of these: 0 (each test fails on any loss, and then records nothing).");
  return lines.join("\n");
}

const readme = readFileSync(README, "utf8");
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) {
  console.error(`README.md has no ${START} ... ${END} markers`);
  process.exit(1);
}
writeFileSync(README, readme.slice(0, a + START.length) + "\n" + reliabilityTable() + "\n" + readme.slice(b));
console.error("README.md: reliability table written");
