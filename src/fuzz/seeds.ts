// Failing seeds, kept as JSON files so every later run replays them: {seed, ops, firstFailure}.
// Node-only (the fuzzer runs under Vitest); the directory is a parameter so tests of this
// mechanism can use a temporary one.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runFuzz, type FuzzFailure, type FuzzOptions, type FuzzReport } from "./fuzzer.ts";

export interface SavedSeed {
  readonly seed: number;
  /** Operations to run; the failure happened at firstFailure.op. */
  readonly ops: number;
  readonly firstFailure: FuzzFailure;
}

/** Where the fuzz tests keep the seeds that once failed. */
export const SEEDS_DIR = new URL("./seeds/", import.meta.url).pathname;

/** Writes a failing run's seed to `dir`; returns the file's path. */
export function saveFailingSeed(dir: string, report: FuzzReport): string {
  if (report.failure === null) throw new Error("the run did not fail: nothing to save");
  mkdirSync(dir, { recursive: true });
  const saved: SavedSeed = { seed: report.seed, ops: report.failure.op, firstFailure: report.failure };
  const path = join(dir, `seed-${report.seed >>> 0}-op-${report.failure.op}.json`);
  writeFileSync(path, `${JSON.stringify(saved, null, 2)}\n`);
  return path;
}

/** Every saved seed in `dir`, by file name. */
export function loadSeeds(dir: string): { file: string; seed: SavedSeed }[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  } catch {
    return [];
  }
  return files.map((file) => {
    const seed = JSON.parse(readFileSync(join(dir, file), "utf8")) as SavedSeed;
    if (!Number.isInteger(seed.seed) || !Number.isInteger(seed.ops) || seed.ops < 1) throw new Error(`${file}: not a saved seed`);
    return { file, seed };
  });
}

/** Runs the fuzzer; when it fails, saves the seed to `dir` first. */
export async function fuzzAndRecord(options: FuzzOptions, dir: string): Promise<{ report: FuzzReport; savedTo: string | null }> {
  const report = await runFuzz(options);
  return { report, savedTo: report.failure === null ? null : saveFailingSeed(dir, report) };
}
