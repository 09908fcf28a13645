// Episodes of interrupt-mode changes on the echo rigs (docs/virtio-mmio-msi.md, "Undelivered
// events" and "The per-queue mode"): MASK / UNMASK / DISABLE / ENABLE / MAP_* / re-CONFIGURE
// interleaved with completions and config changes, all through the registers; per-queue
// episodes add ENABLE_PER_QUEUE and the target commands, and switch between the line, the
// table and the per-queue mode in any order. Each action is one fuzzer operation, so the
// rig's invariants (the no-lost-event ledger among them) are checked after every one; at the end
// the driver restores its set-up and services the line, and every event must then have reached it.
// MODE_SCRIPTS are fixed sequences (the seeds of issue 14) that every run plays first;
// randomModeActions makes new interleavings for later episodes.

import { MSI_CMD, MSI_PQ_CMD, NO_VECTOR } from "../virtio/constants.ts";
import { TEST_MSI_ADDR, testMsiData, testPqData } from "../testing/test-driver.ts";
import type { EchoRig } from "./echo-rig.ts";
import type { Prng } from "../testing/prng.ts";
import type { StepResult } from "./rig.ts";

export type ModeAction =
  | { readonly do: "mask" | "unmask"; readonly vector: number }
  | { readonly do: "disable" | "enable" | "enablePq" | "config" | "ack" }
  | { readonly do: "complete"; readonly queue: number }
  | { readonly do: "mapQueue"; readonly queue: number; readonly vector: number }
  | { readonly do: "mapConfig"; readonly vector: number }
  /** CONFIGURE the vector with address 0 (Linux's teardown) or with the driver's message. */
  | { readonly do: "address"; readonly vector: number; readonly zero: boolean }
  /** MsiPqCmd on a per-queue target (0 = config, 1 + q = queue q). */
  | { readonly do: "pqMask" | "pqUnmask" | "pqOff" | "pqOn"; readonly target: number }
  /** SET_MESSAGE of the target with address 0 (Linux's teardown) or with the driver's message. */
  | { readonly do: "pqAddress"; readonly target: number; readonly zero: boolean }
  /** Exactly these vectors' and targets' messages went out since the last expectation (any order). */
  | { readonly do: "expectSent"; readonly vectors: readonly number[]; readonly targets?: readonly number[] };

/**
 * How the episode's probe sets the device up. echo-fixed: config on 0, queue q on 1 + q.
 * echo-shared: config on 0, both queues on 1. per-queue (on echo-fixed, which offers both
 * modes): one target each, config 0 and queue q 1 + q; the table's vectors are left for the
 * actions to configure.
 */
export type ModeMapping = "fixed" | "shared" | "per-queue";

export interface ModeScript {
  readonly name: string;
  readonly mapping: ModeMapping;
  readonly actions: readonly ModeAction[];
}

/** The echo rig an episode of `mapping` runs on. */
export function modeRigName(mapping: ModeMapping): string {
  return mapping === "shared" ? "echo-shared" : "echo-fixed";
}

const mask = (vector: number): ModeAction => ({ do: "mask", vector });
const unmask = (vector: number): ModeAction => ({ do: "unmask", vector });
const complete = (queue: number): ModeAction => ({ do: "complete", queue });
const sent = (...vectors: number[]): ModeAction => ({ do: "expectSent", vectors });
const sentPq = (...targets: number[]): ModeAction => ({ do: "expectSent", vectors: [], targets });
const pq = (what: "pqMask" | "pqUnmask" | "pqOff" | "pqOn", target: number): ModeAction => ({ do: what, target });
const DISABLE: ModeAction = { do: "disable" };
const ENABLE: ModeAction = { do: "enable" };
const ENABLE_PQ: ModeAction = { do: "enablePq" };
const CONFIG: ModeAction = { do: "config" };
const ACK: ModeAction = { do: "ack" };

export const MODE_SCRIPTS: readonly ModeScript[] = [
  // Issue 14 as reported: the completion held by the mask came out of neither mode.
  { name: "mask-disable-enable-unmask", mapping: "fixed", actions: [mask(1), complete(0), DISABLE, ENABLE, sent(), unmask(1), sent(1)] },
  // DISABLE alone: the held completion must raise the line at once, not wait for another event.
  { name: "mask-disable-ack", mapping: "fixed", actions: [mask(1), complete(0), DISABLE, sent(), ACK] },
  // What the line showed and nobody acknowledged goes out as messages on ENABLE.
  { name: "line-then-enable", mapping: "fixed", actions: [DISABLE, complete(0), CONFIG, complete(1), ENABLE, sent(0, 1, 2)] },
  { name: "two-masks-across-modes", mapping: "fixed", actions: [mask(2), complete(1), DISABLE, complete(0), ENABLE, sent(1), unmask(2), sent(2)] },
  { name: "disable-enable-disable", mapping: "fixed", actions: [mask(0), CONFIG, DISABLE, ENABLE, DISABLE, sent(), ACK, ENABLE, unmask(0), sent()] },
  // Linux's teardown writes a zero message: the event waits for the vector to be set up again.
  { name: "zero-address", mapping: "fixed", actions: [mask(1), { do: "address", vector: 1, zero: true }, complete(0), unmask(1), sent(), { do: "address", vector: 1, zero: false }, sent(1)] },
  // An unmapped source keeps its event until it is mapped (or MSI is disabled).
  { name: "unmapped-then-mapped", mapping: "shared", actions: [{ do: "mapQueue", queue: 0, vector: NO_VECTOR }, complete(0), sent(), { do: "mapQueue", queue: 0, vector: 1 }, sent(1)] },
  { name: "unmapped-then-disabled", mapping: "shared", actions: [{ do: "mapConfig", vector: NO_VECTOR }, CONFIG, sent(), DISABLE, ACK, ENABLE, { do: "mapConfig", vector: 0 }, sent()] },
  // A pending event follows its source to another vector.
  { name: "remap-pending", mapping: "shared", actions: [mask(0), CONFIG, { do: "mapConfig", vector: 1 }, sent(1), unmask(0), sent()] },
  { name: "shared-mask-two-queues", mapping: "shared", actions: [mask(1), complete(0), complete(1), DISABLE, { do: "mapQueue", queue: 1, vector: NO_VECTOR }, ENABLE, unmask(1), sent(1), { do: "mapQueue", queue: 1, vector: 1 }, sent(1)] },
  // Issue 14's sequence in the per-queue mode: exactly one message, on the target.
  { name: "pq-mask-disable-enable-unmask", mapping: "per-queue", actions: [pq("pqMask", 1), complete(0), DISABLE, ENABLE_PQ, sent(), pq("pqUnmask", 1), sentPq(1)] },
  // A disabled target keeps its event until it is enabled.
  { name: "pq-target-disable", mapping: "per-queue", actions: [pq("pqOff", 2), complete(1), sent(), pq("pqOn", 2), sentPq(2)] },
  // Held on a masked target, the event goes out on its vector when the driver switches to the table.
  { name: "pq-to-table", mapping: "per-queue", actions: [pq("pqMask", 1), complete(0), { do: "address", vector: 1, zero: false }, sent(), ENABLE, sent(1), pq("pqUnmask", 1), sent()] },
  // Held on a masked vector, the event goes out on its target when the driver switches to per-queue.
  { name: "table-to-pq", mapping: "per-queue", actions: [{ do: "address", vector: 2, zero: false }, ENABLE, mask(2), complete(1), sent(), ENABLE_PQ, sentPq(2), unmask(2), sent()] },
  { name: "pq-zero-address", mapping: "per-queue", actions: [pq("pqMask", 1), { do: "pqAddress", target: 1, zero: true }, complete(0), pq("pqUnmask", 1), sent(), { do: "pqAddress", target: 1, zero: false }, sentPq(1)] },
  { name: "line-then-pq", mapping: "per-queue", actions: [DISABLE, complete(0), CONFIG, complete(1), ENABLE_PQ, sentPq(0, 1, 2)] },
  { name: "pq-disable-ack-enable", mapping: "per-queue", actions: [pq("pqMask", 0), CONFIG, DISABLE, sent(), ACK, ENABLE_PQ, pq("pqUnmask", 0), sent()] },
  // Both modes hold the event in turn; the line finally shows it.
  { name: "pq-table-pq-line", mapping: "per-queue", actions: [pq("pqOff", 1), mask(1), complete(0), ENABLE, ENABLE_PQ, ENABLE, sent(), DISABLE, ACK, ENABLE_PQ, pq("pqOn", 1), sent()] },
];

/** A random interleaving of mode changes, masks, remaps, completions and config changes. */
export function randomModeActions(rng: Prng, mapping: ModeMapping, n: number): ModeAction[] {
  const vectors = mapping === "shared" ? 2 : 3;
  const out: ModeAction[] = [];
  for (let i = 0; i < n; i++) {
    const v = rng.int(vectors);
    if (mapping === "per-queue" && rng.chance(0.5)) {
      out.push(randomPqAction(rng));
      continue;
    }
    const pick = rng.int(mapping === "shared" ? 12 : 10);
    const choices: ModeAction[] = [
      mask(v), unmask(v), DISABLE, ENABLE, complete(rng.int(2)), complete(rng.int(2)), CONFIG, ACK,
      { do: "address", vector: v, zero: rng.chance(0.5) }, unmask(v),
      { do: "mapQueue", queue: rng.int(2), vector: rng.chance(0.3) ? NO_VECTOR : v },
      { do: "mapConfig", vector: rng.chance(0.3) ? NO_VECTOR : v },
    ];
    out.push(choices[pick]!);
  }
  return out;
}

/** A per-queue action: the mode switch, or a target command (echo has three targets). */
function randomPqAction(rng: Prng): ModeAction {
  const t = rng.int(3);
  const choices: ModeAction[] = [
    ENABLE_PQ, ENABLE_PQ, pq("pqMask", t), pq("pqUnmask", t), pq("pqUnmask", t), pq("pqOff", t), pq("pqOn", t), pq("pqOn", t),
    { do: "pqAddress", target: t, zero: rng.chance(0.4) },
  ];
  return rng.pick(choices);
}

/** One action through the registers; null when it went as it should. */
export function applyModeAction(rig: EchoRig, a: ModeAction): StepResult {
  const d = rig.driver;
  switch (a.do) {
    case "mask": d.msiCommand(MSI_CMD.MASK, a.vector); return null;
    case "unmask": d.msiCommand(MSI_CMD.UNMASK, a.vector); return null;
    case "disable": d.msiCommand(MSI_CMD.DISABLE); return null;
    case "enable": d.msiCommand(MSI_CMD.ENABLE); return null;
    case "enablePq": d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE); return null;
    case "pqMask": d.pqCommand(MSI_PQ_CMD.MASK, a.target); return null;
    case "pqUnmask": d.pqCommand(MSI_PQ_CMD.UNMASK, a.target); return null;
    case "pqOff": d.pqCommand(MSI_PQ_CMD.TARGET_DISABLE, a.target); return null;
    case "pqOn": d.pqCommand(MSI_PQ_CMD.TARGET_ENABLE, a.target); return null;
    case "pqAddress": d.setTarget(a.target, a.zero ? 0 : TEST_MSI_ADDR, testPqData(a.target)); return null;
    case "config": rig.triggerConfig(); return null;
    case "ack":
      if (d.lineHigh) d.handleLineInterrupt();
      return null;
    case "complete": return rig.completeOne(a.queue);
    case "mapQueue":
      d.write32("QueueSel", a.queue);
      d.msiCommand(MSI_CMD.MAP_QUEUE, a.vector);
      return null;
    case "mapConfig": d.msiCommand(MSI_CMD.MAP_CONFIG, a.vector); return null;
    case "address": d.configureVector(a.vector, a.zero ? 0 : TEST_MSI_ADDR, testMsiData(a.vector)); return null;
    case "expectSent": {
      // Data tells the mode apart: testMsiData(v) for vector v, testPqData(t) for target t.
      const got = rig.sink.delivered.splice(0).sort((x, y) => x - y);
      const want = [...a.vectors.map(testMsiData), ...(a.targets ?? []).map(testPqData)].sort((x, y) => x - y);
      const hex = (l: number[]) => l.map((x) => `0x${x.toString(16)}`).join(",");
      return got.length === want.length && got.every((v, i) => v === want[i]) ? null : `messages with data [${hex(got)}], expected [${hex(want)}]`;
    }
  }
}

/**
 * The driver puts its MSI set-up back (every vector configured and unmasked, the mapping as its
 * probe made it; on a device with the per-queue mode, every target set, enabled and unmasked
 * too) and services the line; then every event must have reached it, in whichever mode is on.
 */
export function settleModeEpisode(rig: EchoRig, mapping: ModeMapping): StepResult {
  const d = rig.driver;
  const vectors = mapping === "shared" ? 2 : 3;
  for (let v = 0; v < vectors; v++) {
    d.configureVector(v, TEST_MSI_ADDR, testMsiData(v));
    d.msiCommand(MSI_CMD.UNMASK, v);
  }
  if (rig.transport.msiPerQueue !== null) {
    for (let t = 0; t < 3; t++) {
      d.setTarget(t, TEST_MSI_ADDR, testPqData(t));
      d.pqCommand(MSI_PQ_CMD.UNMASK);
      d.pqCommand(MSI_PQ_CMD.TARGET_ENABLE);
    }
  }
  if (mapping === "shared") {
    d.msiCommand(MSI_CMD.MAP_CONFIG, 0);
    for (let q = 0; q < 2; q++) {
      d.write32("QueueSel", q);
      d.msiCommand(MSI_CMD.MAP_QUEUE, 1);
    }
  }
  if (d.lineHigh) d.handleLineInterrupt();
  rig.sink.delivered.length = 0;
  const owed = rig.ledger.owed();
  if (owed.length > 0) return `after the driver restored everything, events of sources [${owed}] never reached it`;
  if (d.lineHigh) return "the line is still high after the driver's ACK";
  return null;
}
