// Saved failing seeds replay on every run, and the save/replay mechanism itself works: a run
// with an invariant broken on purpose fails, writes its seed, and the saved seed replays the
// very same failure.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EchoDevice } from "../testing/echo-device.ts";
import { runFuzz } from "./fuzzer.ts";
import type { Rig } from "./rig.ts";
import { SEEDS_DIR, fuzzAndRecord, loadSeeds } from "./seeds.ts";
import { n, recordFigure } from "../../tests/reliability/record.ts";

describe("saved fuzz seeds", () => {
  // Each once failed; after its fix it must pass for good. (Seeds replay the same operations
  // while the fuzzer's choices stay the same; after a change to them they are still runs.)
  const seeds = loadSeeds(SEEDS_DIR);
  let replayed = 0;
  let ops = 0;
  it.each(seeds.map((s) => [s.file, s.seed] as const))("%s replays without a failure", { timeout: 120_000 }, async (_file, s) => {
    const report = await runFuzz({ seed: s.seed, ops: s.ops });
    expect(report.failure).toBeNull();
    expect(report.opsRun).toBe(s.ops);
    replayed++;
    ops += report.opsRun;
  });
  afterAll(() => {
    if (replayed === seeds.length) recordFigure("fuzz-seeds", `${replayed} saved seeds replayed (${n(ops)} operations), 0 failures`);
  });
});

describe("the save-and-replay mechanism", () => {
  /** Broken on purpose: fails once the echo devices have completed 40 chains in all. */
  const brokenInvariant = (rigs: readonly Rig[]): string | null => {
    let chains = 0;
    for (const r of rigs) if (r.device instanceof EchoDevice) chains += r.device.counters.chains;
    return chains >= 40 ? `echo devices completed ${chains} chains` : null;
  };

  it("a failing run writes {seed, ops, firstFailure}, and the seed replays the same failure", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "fuzz-seeds-"));
    try {
      const { report, savedTo } = await fuzzAndRecord({ seed: 1234, ops: 50_000, extraInvariant: brokenInvariant }, dir);
      expect(report.failure).not.toBeNull();
      expect(report.failure!.message).toMatch(/^echo devices completed \d+ chains$/);
      expect(report.opsRun).toBe(report.failure!.op);
      expect(savedTo).not.toBeNull();
      expect(readdirSync(dir)).toHaveLength(1);

      const [entry] = loadSeeds(dir);
      expect(entry!.seed).toMatchObject({ seed: 1234, ops: report.failure!.op, firstFailure: report.failure });
      const replay = await runFuzz({ seed: entry!.seed.seed, ops: entry!.seed.ops, extraInvariant: brokenInvariant });
      expect(replay.failure).toEqual(entry!.seed.firstFailure);
      // Without the broken invariant the same operations pass: the failure was the invariant's.
      expect((await runFuzz({ seed: entry!.seed.seed, ops: entry!.seed.ops })).failure).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a passing run writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fuzz-seeds-"));
    try {
      const { report, savedTo } = await fuzzAndRecord({ seed: 99, ops: 2_000 }, dir);
      expect(report.failure).toBeNull();
      expect(savedTo).toBeNull();
      expect(readdirSync(dir)).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an exception during an operation is recorded as its failure, not a crash of the fuzzer", async () => {
    const report = await runFuzz({
      seed: 5,
      ops: 5_000,
      extraInvariant: (_rigs, op) => {
        if (op === 300) throw new Error("thrown on purpose");
        return null;
      },
    });
    expect(report.failure).toMatchObject({ op: 300 });
    expect(report.failure!.message).toMatch(/^threw: Error: thrown on purpose/);
  });
});
