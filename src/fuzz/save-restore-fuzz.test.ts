// The fuzzer's save-restore operation: at random points a rig's transport and device are saved
// and restored into fresh ones on a copy of the RAM, and everything the fuzzer checks after
// every operation (the event ledger above all) holds across it. And the fuzzer catches a
// restore that loses what it should keep: a fault planted in the saved state (events that were
// still undelivered forgotten, in every interrupt mode or only with MSI on) fails the run well
// within the default op count.

import { describe, expect, it } from "vitest";
import { makeRigs, runFuzz } from "./fuzzer.ts";
import { Prng } from "../testing/prng.ts";

const DEFAULT_OPS = 1_000_000; // transport-fuzz.test.ts's default
const SEED = 0x5eed;

type Events = { config: boolean; queues: boolean[] };
const msiOn = (s: Record<string, unknown>) =>
  ((s.msi as { enabled: boolean } | null)?.enabled ?? false) || ((s.msiPerQueue as { enabled: boolean } | null)?.enabled ?? false);

/** Forgets every undelivered event, and the line with them (a consistent state, so not refused). */
function forgetEvents(s: Record<string, unknown>): void {
  const e = s.events as Events;
  s.events = { config: false, queues: e.queues.map(() => false) };
  s.lineHigh = false;
}

/** Forgets the undelivered events only with MSI on (masked or unroutable vectors and targets). */
function forgetMsiEvents(s: Record<string, unknown>): void {
  if (msiOn(s)) forgetEvents(s);
}

describe("the fuzzer's save and restore", () => {
  it("restores every rig into a fresh transport and device, and every invariant holds", { timeout: 120_000 }, async () => {
    const report = await runFuzz({ seed: SEED, ops: 300_000 });
    expect(report.failure).toBeNull();
    const rigs = makeRigs(new Prng(1)).map((r) => r.name);
    expect(Object.keys(report.restores).sort()).toEqual(rigs.sort());
    const total = Object.values(report.restores).reduce((a, b) => a + b, 0);
    console.log(`save-restore fuzz: ${total} restores in ${report.opsRun} ops: ${JSON.stringify(report.restores)}`);
    expect(total).toBeGreaterThan(300);
  });

  it.each([
    ["forgets undelivered events", forgetEvents],
    ["forgets undelivered events with MSI on", forgetMsiEvents],
  ] as const)("a restore that %s is caught", { timeout: 120_000 }, async (_what, tamper) => {
    const report = await runFuzz({ seed: SEED, ops: DEFAULT_OPS, tamperRestore: tamper });
    const total = Object.values(report.restores).reduce((a, b) => a + b, 0);
    console.log(`planted fault caught at op ${report.failure?.op} after ${total} restores: ${report.failure?.message}`);
    expect(report.failure).not.toBeNull();
    expect(report.failure!.message).toMatch(/^lost event: /);
    expect(report.opsRun).toBeLessThan(DEFAULT_OPS);
  });
});
