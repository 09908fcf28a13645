// The device-model fuzzer in CI: one seeded run of FUZZ_OPS operations (default one million)
// over every rig. A failure saves its seed under seeds/ (replayed by seed-replay.test.ts).
//   FUZZ_OPS=20000000 FUZZ_SEED=7 npm run fuzz

import { describe, expect, it } from "vitest";
import { MODE_SCRIPTS } from "./mode-change.ts";
import { SEEDS_DIR, fuzzAndRecord } from "./seeds.ts";
import { n, recordFigure } from "../../tests/reliability/record.ts";

const OPS = Number(process.env.FUZZ_OPS ?? 1_000_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

/** Faults every full-length run injects and must see counted (each kind at least once). */
const MUST_CHECK = [
  "transport.badWidth", "transport.badOffset", "transport.badConfigAccess", "transport.writeReadOnly",
  "transport.readWriteOnly", "transport.noMsi", "transport.msiWithoutFeature", "transport.badNotify",
  "transport.queueBroken", "transport.badQueueNum", "transport.ringAlign", "transport.ringOutOfRange",
  "msi.badCommand", "msi.badVector", "msi.badQueue", "msi.mapInFixedMode", "msi.dropped",
  "msiPq.badControl", "msiPq.dropped", "transport.badMsiControl", "transport.badQueueReset", "transport.badQueueSel",
  "platform.msiOutsideWindow", "platform.msiIllegalVector", "memory.msiIntoRam",
  "queue.loop", "queue.outOfRange", "queue.nextRange", "queue.headRange", "queue.availIdx", "queue.order",
  "queue.nestedIndirect", "queue.indirectLen", "queue.indirectWithNext", "queue.indirectNotNegotiated", "queue.zeroLength",
  "blk.errOutOfRange", "blk.errUnsupported", "blk.errBadDataLength", "blk.errNoStatus", "blk.errHeaderTooShort",
  "blk.errTooLarge", "blk.errBadFlags", "blk.errBadSegments",
  "net.txDropTooSmall", "net.txDropTooBig", "net.txDropBadHeader", "net.ctrlErrors", "net.rxDrops",
];

describe("device-model fuzzer", () => {
  it(`seed ${SEED}: ${OPS} operations, every invariant holds`, { timeout: Math.max(120_000, OPS / 5) }, async () => {
    const started = performance.now();
    const { report, savedTo } = await fuzzAndRecord({ seed: SEED, ops: OPS }, SEEDS_DIR);
    const seconds = (performance.now() - started) / 1000;
    if (report.failure !== null) {
      expect.fail(`fuzz failure (seed saved to ${savedTo}):\n${JSON.stringify(report.failure, null, 2)}`);
    }
    const checked = Object.values(report.checkedFaults).reduce((a, b) => a + b, 0);
    const restores = Object.values(report.restores).reduce((a, b) => a + b, 0);
    console.log(
      `fuzz seed ${SEED}: ${report.opsRun} ops in ${seconds.toFixed(1)} s (${Math.round(report.opsRun / seconds)} ops/s), ` +
        `episodes ${JSON.stringify(report.episodes)}, ${report.verifiedSteps} verified steps, ${checked} injected faults checked, ` +
        `${restores} saves restored into a fresh transport and device\n` +
        `checked faults: ${JSON.stringify(report.checkedFaults)}\nviolations counted: ${JSON.stringify(report.violations)}`,
    );
    expect(report.opsRun).toBe(OPS);
    // The run reached what it is there for: verified data paths and every kind of injected fault.
    expect(report.verifiedSteps).toBeGreaterThan(OPS / 10);
    expect(report.episodes.recovery).toBeGreaterThan(OPS / 1000);
    // Issue 14's sequences first, then random mode changes interleaved with masks and completions.
    expect(report.episodes["mode-change"]).toBeGreaterThan(MODE_SCRIPTS.length + OPS / 10_000);
    if (OPS >= 200_000) expect(Object.keys(report.checkedFaults)).toEqual(expect.arrayContaining(MUST_CHECK));
    const f = report.checkedFaults;
    recordFigure(
      "fuzz",
      `seed ${SEED}: ${n(report.opsRun)} operations in ${seconds.toFixed(1)} s: ${n(report.episodes.hostile)} hostile and ` +
        `${n(report.episodes["mode-change"])} mode-change episodes, ${n(restores)} saves restored, ${n(report.verifiedSteps)} verified steps, ${n(checked)} injected faults ` +
        `seen counted (${Object.keys(f).length} kinds); ${n(f["platform.msiOutsideWindow"] ?? 0)} MSIs outside the window and ` +
        `${n(f["platform.msiIllegalVector"] ?? 0)} with illegal vectors refused`,
    );
  });
});
