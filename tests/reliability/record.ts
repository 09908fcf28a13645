// The reliability figures in README are written by the test runs that measured them, never by
// hand: a test calls recordFigure() with what it measured, which lands in latest/<id>.json, and
// `npm run reliability:readme` (the last step of `npm test`) turns those files into README's
// table between its markers (write-readme.ts). A file keeps the time and host of its run.

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const LATEST_DIR = join(dirname(fileURLToPath(import.meta.url)), "latest");

export interface ReliabilityFigure {
  /** Which row part this is (see ROWS in rows.ts). */
  id: string;
  /** What the run measured, in words and figures. */
  text: string;
  /** ISO time of the run. */
  at: string;
  host: string;
}

export function recordFigure(id: string, text: string): void {
  if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`bad reliability figure id "${id}"`);
  const figure: ReliabilityFigure = {
    id,
    text,
    at: new Date().toISOString(),
    host: `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores`,
  };
  mkdirSync(LATEST_DIR, { recursive: true });
  writeFileSync(join(LATEST_DIR, `${id}.json`), JSON.stringify(figure, null, 1) + "\n");
}

/** 1234567 -> "1,234,567" (the README's style). */
export function n(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}
