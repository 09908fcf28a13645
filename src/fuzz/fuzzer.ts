// The seeded fuzzer of the device model. Episodes over ten rigs (echo, blk on memory, on an
// overlay, on a disk that answers late and out of order and on an overlay over such a disk,
// net on a switch; the v3 MSI layout with RING_RESET, the 2020 layout with fixed and with
// shared mapping, and the classic line with RING_RESET):
//   well-behaved  the Linux-like probe, then verified requests (data, completions, interrupts)
//   hostile       random registers, status, MSI commands, layouts, ring scribbles, malformed
//                 chains and requests; injected faults whose counting is certain are checked
//   recovery      after every hostile episode: a reset and a well-behaved episode must work
//   mode-change   on the echo rigs with MSI: MASK / DISABLE / ENABLE / MAP_* interleaved with
//                 completions on the 2020 layout; MSI_ENABLE, the targets' control words and
//                 pairs and queue resets on the v3 layout; every run starts with the fixed
//                 MODE_SCRIPTS (issue 14's seeds, the v3 and queue-reset ones), then plays a
//                 random interleaving every MODE_EVERY episodes
//   save-restore  at random points of well-behaved and hostile episodes: the rig's transport and
//                 device state saved (through JSON), restored into a fresh transport and device
//                 on a copy of its RAM, and the episode carries on there; the ledger carries
//                 the events still owed, which the restored transport must still show, and the
//                 restore itself must send nothing. Its own random stream decides when, so the
//                 other choices of a seed stay what they were.
// After every operation the rig's invariants are checked (guards, no access outside RAM, no
// internal errors, line and MSI rules). The run stops at the first failure and reports it;
// the same seed and op count replay it exactly (no clock, no Math.random, no async work).

import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { OverlayBackend } from "../devices/blk/overlay-backend.ts";
import { STATUS } from "../virtio/constants.ts";
import { BlkAsyncRig } from "./blk-async-rig.ts";
import { BlkRig } from "./blk-rig.ts";
import { EchoRig } from "./echo-rig.ts";
import { hostileOp } from "./hostile-ops.ts";
import {
  MODE_SCRIPTS, applyModeAction, modeRigName, randomModeActions, settleModeEpisode, type ModeAction, type ModeMapping,
} from "./mode-change.ts";
import { NetRig } from "./net-rig.ts";
import { Prng } from "../testing/prng.ts";
import type { Expectation, Rig, StepResult } from "./rig.ts";

export type Phase = "well-behaved" | "hostile" | "recovery" | "mode-change";

export interface FuzzFailure {
  /** 1-based index of the failing operation. */
  readonly op: number;
  readonly episode: number;
  readonly phase: Phase;
  readonly rig: string;
  readonly action: string;
  readonly message: string;
}

export interface FuzzOptions {
  readonly seed: number;
  readonly ops: number;
  /** An extra check after every operation (tests of the fuzzer itself break one on purpose). */
  readonly extraInvariant?: (rigs: readonly Rig[], op: number) => string | null;
  /** Edits each saved transport state before its restore (tests of the fuzzer plant a fault). */
  readonly tamperRestore?: (state: Record<string, unknown>) => void;
}

export interface FuzzReport {
  readonly seed: number;
  readonly ops: number;
  readonly opsRun: number;
  readonly episodes: Record<Phase, number>;
  readonly failure: FuzzFailure | null;
  /** Injected faults whose counting was certain and checked, by kind. */
  readonly checkedFaults: Record<string, number>;
  /** Everything the model counted as a guest violation, by layer and kind. */
  readonly violations: Record<string, number>;
  /** Verified well-behaved steps. */
  readonly verifiedSteps: number;
  /** Saves restored into a fresh transport and device, by rig. */
  readonly restores: Record<string, number>;
}

/** The devices under test, fresh for each run. */
export function makeRigs(rng: Prng): Rig[] {
  const disk = () => MemoryBackend.blank(256 * 1024);
  const base = new Uint8Array(192 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
  return [
    // The 2020 layout (no RING_RESET), fixed and shared.
    new EchoRig("echo-fixed", { layout: "2020", vectors: 3, sharing: false }),
    new EchoRig("echo-shared", { layout: "2020", vectors: 2, sharing: true }),
    // The v3 layout with RING_RESET; one device asks for a single shared pair (MsiVectorHint 1).
    new EchoRig("echo-v3", { layout: "v3" }),
    new EchoRig("echo-v3-hint1", { layout: "v3", hint: 1 }),
    new EchoRig("echo-classic", false),
    new BlkRig("blk-v3", { layout: "v3" }, disk()),
    new BlkAsyncRig("blk-async-v3", { layout: "v3" }, rng),
    new BlkAsyncRig("blk-overlay-on-late-base", { layout: "2020", vectors: 3, sharing: false }, rng, true),
    new BlkRig("blk-overlay-shared", { layout: "2020", vectors: 4, sharing: true }, new OverlayBackend(new MemoryBackend(base, { readOnly: true }))),
    new NetRig("net-v3", { layout: "v3" }),
    new NetRig("net-shared", { layout: "2020", vectors: 2, sharing: true }),
  ];
}

class Stop extends Error {}

/** One marathon (ring indices past 0xffff) in this many episodes, starting with the second. */
const MARATHON_EVERY = 2000;
/** A random mode-change episode in this many episodes. */
const MODE_EVERY = 20;
/** The chance of a save and restore before each operation of a well-behaved or hostile episode. */
const RESTORE_CHANCE = 0.003;

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const rng = new Prng(o.seed);
  const restoreRng = new Prng((o.seed ^ 0x5a5a5a5a) >>> 0);
  const restores: Record<string, number> = {};
  const rigs = makeRigs(rng);
  const episodes: Record<Phase, number> = { "well-behaved": 0, hostile: 0, recovery: 0, "mode-change": 0 };
  const checkedFaults: Record<string, number> = {};
  let op = 0;
  let episode = 0;
  let verifiedSteps = 0;
  let failure: FuzzFailure | null = null;

  const run = async (rig: Rig, phase: Phase, action: string, fn: () => StepResult | Expectation[] | Promise<StepResult | Expectation[]>): Promise<void> => {
    op++;
    const fail = (message: string): never => {
      failure = { op, episode, phase, rig: rig.name, action, message };
      throw new Stop();
    };
    // Anything thrown, by the model or while checking it, is a failure of this operation.
    let broken: string | null;
    const stoppedBefore = (rig.transport.status & STATUS.DRIVER_OK) === 0;
    const memoryBefore = rig.memory;
    const writesBefore = rig.memory.counters.writes;
    try {
      let result = fn();
      if (result instanceof Promise) result = await result;
      if (typeof result === "string") fail(result);
      if (Array.isArray(result)) {
        for (const e of result) {
          if (e.read() <= e.before) fail(`injected fault not counted: ${e.kind}`);
          checkedFaults[e.kind] = (checkedFaults[e.kind] ?? 0) + 1;
        }
      } else if (phase !== "hostile") {
        verifiedSteps++;
      }
      if (phase === "hostile") {
        // Asynchronous work (a backend answering later) progresses between hostile operations.
        const later = rig.afterOp(rng);
        if (later !== null) await later;
      }
      broken = rig.checkInvariants() ?? o.extraInvariant?.(rigs, op) ?? null;
      // A device that is not running (reset, or not yet DRIVER_OK) never touches guest RAM,
      // not even when I/O it started before a reset finishes now.
      // (A restore changes the memory watch: its new counters start at 0.)
      if (broken === null && stoppedBefore && (rig.transport.status & STATUS.DRIVER_OK) === 0 && rig.memory === memoryBefore && rig.memory.counters.writes !== writesBefore) {
        broken = `the device wrote guest RAM ${rig.memory.counters.writes - writesBefore} time(s) while not running`;
      }
    } catch (e) {
      if (e instanceof Stop) throw e;
      broken = `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    }
    if (broken !== null) fail(broken);
  };

  /** Now and then (its own stream decides), the rig saved and restored into a fresh transport and device. */
  const maybeRestore = async (rig: Rig, phase: Phase): Promise<void> => {
    if (!restoreRng.chance(RESTORE_CHANCE) || op >= o.ops) return;
    await run(rig, phase, "save-restore", async () => {
      // Like a machine's save: what the device has in flight finishes first (or no save now).
      if (!(await rig.drainForSave(restoreRng))) return [];
      restores[rig.name] = (restores[rig.name] ?? 0) + 1;
      return rig.restoreFresh(() => liveViolationsOf(rig), o.tamperRestore) ?? [];
    });
  };

  const wellBehaved = async (rig: Rig, phase: Phase, steps: number): Promise<void> => {
    episodes[phase]++;
    await run(rig, phase, "quiesce", async () => (await rig.quiesce(), null));
    await run(rig, phase, "init", () => rig.init(rng));
    for (let i = 0; i < steps && op < o.ops; i++) {
      await maybeRestore(rig, phase);
      if (op < o.ops) await run(rig, phase, "step", () => rig.wellBehavedStep(rng));
    }
  };

  /** Batches on one echo queue until its 16-bit ring indices have wrapped. */
  const marathon = async (rig: EchoRig): Promise<void> => {
    episodes["well-behaved"]++;
    rig.batchOnly = true;
    try {
      await run(rig, "well-behaved", "init", () => rig.init(rng));
      while (rig.completions0 < 0x10000 + 64 && op < o.ops) await run(rig, "well-behaved", "batch", () => rig.wellBehavedStep(rng));
      if (op < o.ops) {
        await run(rig, "well-behaved", "wrapped", () => {
          const live = rig.transport.state().queues[0]?.live;
          const ok = live != null && rig.completions0 > 0xffff && live.usedIdx === (rig.completions0 & 0xffff) && live.lastAvailIdx === live.usedIdx;
          return ok ? null : `after ${rig.completions0} completions the ring indices are ${live?.lastAvailIdx}/${live?.usedIdx}`;
        });
      }
    } finally {
      rig.batchOnly = false;
    }
  };

  /** A probe with MSI in the given mapping, the actions one operation each, then the settling check. */
  const modeChange = async (mapping: ModeMapping, actions: readonly ModeAction[]): Promise<void> => {
    const rig = rigs.find((r) => r.name === modeRigName(mapping)) as EchoRig;
    episodes["mode-change"]++;
    await run(rig, "mode-change", "init", () => rig.init(rng, mapping));
    rig.sink.delivered.length = 0;
    for (const a of actions) {
      if (op >= o.ops) return;
      await run(rig, "mode-change", a.do, () => applyModeAction(rig, a));
    }
    if (op < o.ops) await run(rig, "mode-change", "settle", () => settleModeEpisode(rig, mapping));
  };

  try {
    for (const script of MODE_SCRIPTS) {
      if (op >= o.ops) break;
      episode++;
      await modeChange(script.mapping, script.actions);
    }
    while (op < o.ops) {
      episode++;
      if (episode % MODE_EVERY === 7) {
        const mapping = rng.pick<ModeMapping>(["fixed", "shared", "per-queue"]);
        await modeChange(mapping, randomModeActions(rng, mapping, rng.range(10, 60)));
        continue;
      }
      if (episode % MARATHON_EVERY === 2) {
        await marathon(rigs[0] as EchoRig);
        continue;
      }
      const rig = rng.pick(rigs);
      if (rng.chance(0.4)) {
        await wellBehaved(rig, "well-behaved", rng.range(5, 60));
        continue;
      }
      episodes.hostile++;
      // Hostile episodes mostly start from a running device, so the hostility reaches the queues.
      if (rng.chance(0.8)) await run(rig, "hostile", "probe", () => (rig.init(rng), []));
      const n = rng.range(20, 300);
      for (let i = 0; i < n && op < o.ops; i++) {
        await maybeRestore(rig, "hostile");
        if (op >= o.ops) break;
        const h = hostileOp(rig, rng);
        await run(rig, "hostile", h.name, h.run);
      }
      if (op < o.ops) await wellBehaved(rig, "recovery", rng.range(3, 20));
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return {
    seed: o.seed, ops: o.ops, opsRun: op, episodes, failure, checkedFaults, verifiedSteps, restores,
    violations: violationsOf(rigs),
  };
}

/** Every counter of a guest violation, summed over the rigs, as "layer.kind" (restores' retired counts included). */
function violationsOf(rigs: readonly Rig[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const rig of rigs) {
    for (const counted of [liveViolationsOf(rig), rig.retired]) {
      for (const [k, v] of Object.entries(counted)) out[k] = (out[k] ?? 0) + v;
    }
  }
  return out;
}

/** The violations counted by a rig's current transport, device, memory watch and sink. */
function liveViolationsOf(rig: Rig): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (key: string, n: number) => {
    if (n > 0) out[key] = (out[key] ?? 0) + n;
  };
  {
    for (const [k, v] of Object.entries(rig.transport.counters.errors)) add(`transport.${k}`, v);
    const m = rig.transport.msi?.counters;
    if (m) {
      for (const k of ["badCommand", "badVector", "badQueue", "mapInFixedMode", "addrHighNonZero", "unmapped"] as const) add(`msi.${k}`, m[k]);
      for (const v of m.vectors) add("msi.dropped", v.dropped);
    }
    const pq = rig.transport.msiPerQueue?.counters;
    if (pq) {
      for (const k of ["badControl", "addrHighNonZero"] as const) add(`msiPq.${k}`, pq[k]);
      for (const t of pq.targets) add("msiPq.dropped", t.dropped);
    }
    for (const [k, v] of Object.entries(rig.allQueueErrors())) add(`queue.${k}`, v);
    add("memory.refusedReads", rig.memory.counters.refusedReads);
    add("memory.refusedWrites", rig.memory.counters.refusedWrites);
    add("memory.msiIntoRam", rig.memory.counters.busWritesIntoRam);
    add("platform.msiOutsideWindow", rig.sink.counters.outsideWindow);
    add("platform.msiIllegalVector", rig.sink.counters.illegalVector);
    add("platform.msiDelivered", rig.sink.counters.delivered);
    const c = rig.device.counters as Readonly<Record<string, number>>;
    for (const [k, v] of Object.entries(c)) {
      if (/^(err[A-Z]|txDrop[A-Z]|rxDrop[A-Z]|ctrlUnsupported|ctrlMalformed|rxBuffersUnusable|shortCopies|badNotifies)/.test(k)) {
        add(`${rig.device.name.replace(/\d+$/, "")}.${k}`, v);
      }
    }
  }
  return out;
}
