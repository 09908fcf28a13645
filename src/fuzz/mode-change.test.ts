// The mode-change episodes: issue 14's sequences, played first by every fuzz run, pass with the
// no-lost-event invariant checked after each action; random interleavings follow.

import { describe, expect, it } from "vitest";
import { runFuzz } from "./fuzzer.ts";
import { MODE_SCRIPTS } from "./mode-change.ts";

describe("mode-change episodes", () => {
  it("every scripted sequence and the random interleavings of a short run hold every invariant", { timeout: 60_000 }, async () => {
    const report = await runFuzz({ seed: 14, ops: 20_000 });
    expect(report.failure).toBeNull();
    expect(report.episodes["mode-change"]).toBeGreaterThan(MODE_SCRIPTS.length);
  });

  it("the scripts are played first, before anything random", async () => {
    const ops = MODE_SCRIPTS.reduce((n, s) => n + s.actions.length + 2, 0);
    const report = await runFuzz({ seed: 1, ops });
    expect(report.failure).toBeNull();
    expect(report.episodes).toMatchObject({ "mode-change": MODE_SCRIPTS.length, "well-behaved": 0, hostile: 0 });
  });
});
