// Episodes of interrupt-mode changes on the echo rigs (docs/virtio-mmio-msi.md, "Undelivered
// events", and docs/virtio-mmio-msi-v3.md, "Events" and D5, D10): on the 2020 layout MASK /
// UNMASK / DISABLE / ENABLE / MAP_* / re-CONFIGURE interleaved with completions and config
// changes, all through the registers; on the v3 layout ("per-queue" episodes) MSI_ENABLE on
// and off, the targets' control words and pairs, and queue resets with events held on the
// reset queue and on others. Each action is one fuzzer operation, so the
// rig's invariants (the no-lost-event ledger among them) are checked after every one; at the end
// the driver restores its set-up and services the line, and every event must then have reached it.
// MODE_SCRIPTS are fixed sequences (the seeds of issue 14) that every run plays first;
// randomModeActions makes new interleavings for later episodes.

import { FEATURE, MSI_CMD, MSI_CONTROL, MSI_TARGET_CONTROL, NO_VECTOR } from "../virtio/constants.ts";
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
  /** A v3 target's control word (0 = config, 1 + q = queue q): MASK set or clear, ENABLE set or clear. */
  | { readonly do: "pqMask" | "pqUnmask" | "pqOff" | "pqOn"; readonly target: number }
  /** The target's pair with address 0 (Linux's teardown) or with the driver's message. */
  | { readonly do: "pqAddress"; readonly target: number; readonly zero: boolean }
  /** QueueReset of the queue, then set up again with its target written (R5) as the driver does (D10). */
  | { readonly do: "queueReset"; readonly queue: number }
  /** Exactly these vectors' and targets' messages went out since the last expectation (any order). */
  | { readonly do: "expectSent"; readonly vectors: readonly number[]; readonly targets?: readonly number[] };

/**
 * How the episode's probe sets the device up. echo-fixed (2020 layout): config on 0, queue q
 * on 1 + q. echo-shared (2020): config on 0, both queues on 1. per-queue (echo-v3, the v3
 * layout): one target each, config 0 and queue q 1 + q. On the v3 layout, "disable" and
 * "enable" are MSI_ENABLE cleared and set.
 */
export type ModeMapping = "fixed" | "shared" | "per-queue";

export interface ModeScript {
  readonly name: string;
  readonly mapping: ModeMapping;
  readonly actions: readonly ModeAction[];
}

/** The echo rig an episode of `mapping` runs on. */
export function modeRigName(mapping: ModeMapping): string {
  return mapping === "shared" ? "echo-shared" : mapping === "per-queue" ? "echo-v3" : "echo-fixed";
}

const mask = (vector: number): ModeAction => ({ do: "mask", vector });
const unmask = (vector: number): ModeAction => ({ do: "unmask", vector });
const complete = (queue: number): ModeAction => ({ do: "complete", queue });
const sent = (...vectors: number[]): ModeAction => ({ do: "expectSent", vectors });
const sentPq = (...targets: number[]): ModeAction => ({ do: "expectSent", vectors: [], targets });
const pq = (what: "pqMask" | "pqUnmask" | "pqOff" | "pqOn", target: number): ModeAction => ({ do: what, target });
const reset = (queue: number): ModeAction => ({ do: "queueReset", queue });
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
  // Issue 14's sequence on the v3 targets: exactly one message, on the target (D5).
  { name: "pq-mask-disable-enable-unmask", mapping: "per-queue", actions: [pq("pqMask", 1), complete(0), DISABLE, ENABLE_PQ, sent(), pq("pqUnmask", 1), sentPq(1)] },
  // A disabled target keeps its event until it is enabled (D8).
  { name: "pq-target-disable", mapping: "per-queue", actions: [pq("pqOff", 2), complete(1), sent(), pq("pqOn", 2), sentPq(2)] },
  { name: "pq-zero-address", mapping: "per-queue", actions: [pq("pqMask", 1), { do: "pqAddress", target: 1, zero: true }, complete(0), pq("pqUnmask", 1), sent(), { do: "pqAddress", target: 1, zero: false }, sentPq(1)] },
  { name: "line-then-pq", mapping: "per-queue", actions: [DISABLE, complete(0), CONFIG, complete(1), ENABLE_PQ, sentPq(0, 1, 2)] },
  { name: "pq-disable-ack-enable", mapping: "per-queue", actions: [pq("pqMask", 0), CONFIG, DISABLE, sent(), ACK, ENABLE_PQ, pq("pqUnmask", 0), sent()] },
  // D10: the event held on the reset queue goes to neither its old pair nor its new one.
  { name: "queue-reset-held", mapping: "per-queue", actions: [pq("pqMask", 1), complete(0), reset(0), sent(), complete(0), sentPq(1)] },
  // D10: another queue's held event survives the reset and is delivered.
  { name: "queue-reset-other-survives", mapping: "per-queue", actions: [pq("pqMask", 1), pq("pqMask", 2), complete(0), complete(1), reset(1), sent(), pq("pqUnmask", 1), sentPq(1), pq("pqUnmask", 2), sent()] },
  // On the line: the reset queue's bit is gone, the other queue's event moves to its target.
  { name: "queue-reset-on-line", mapping: "per-queue", actions: [DISABLE, complete(0), complete(1), reset(0), ENABLE_PQ, sentPq(2)] },
  { name: "queue-reset-disabled-target", mapping: "per-queue", actions: [pq("pqOff", 2), complete(1), reset(0), sent(), pq("pqOn", 2), sentPq(2)] },
];

/** A random interleaving of mode changes, masks, remaps, completions and config changes. */
export function randomModeActions(rng: Prng, mapping: ModeMapping, n: number): ModeAction[] {
  const vectors = mapping === "shared" ? 2 : 3;
  const out: ModeAction[] = [];
  for (let i = 0; i < n; i++) {
    const v = rng.int(vectors);
    if (mapping === "per-queue") {
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

/** A v3 action: MSI_ENABLE, a target's control word or pair, or a queue reset (echo has three targets). */
function randomPqAction(rng: Prng): ModeAction {
  const t = rng.int(3);
  const choices: ModeAction[] = [
    ENABLE_PQ, ENABLE_PQ, DISABLE, pq("pqMask", t), pq("pqUnmask", t), pq("pqUnmask", t), pq("pqOff", t), pq("pqOn", t), pq("pqOn", t),
    { do: "pqAddress", target: t, zero: rng.chance(0.4) }, complete(rng.int(2)), complete(rng.int(2)), CONFIG, ACK, reset(rng.int(2)),
  ];
  return rng.pick(choices);
}

/** One action through the registers; null when it went as it should. */
export function applyModeAction(rig: EchoRig, a: ModeAction): StepResult {
  const d = rig.driver;
  const v3 = rig.transport.msiPerQueue !== null;
  /** Sets or clears one bit of target t's control word, keeping the other (a read-modify-write, as a driver does). */
  const control = (t: number, bit: number, on: boolean) => {
    const now = d.readTargetControl(t) & (MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    d.targetControl(t, on ? now | bit : now & ~bit);
  };
  switch (a.do) {
    case "mask": d.msiCommand(MSI_CMD.MASK, a.vector); return null;
    case "unmask": d.msiCommand(MSI_CMD.UNMASK, a.vector); return null;
    case "disable":
      if (v3) d.write32("MsiControl", 0);
      else d.msiCommand(MSI_CMD.DISABLE);
      return null;
    case "enable": case "enablePq":
      if (v3) d.write32("MsiControl", MSI_CONTROL.MSI_ENABLE);
      else d.msiCommand(MSI_CMD.ENABLE);
      return null;
    case "pqMask": control(a.target, MSI_TARGET_CONTROL.MASK, true); return null;
    case "pqUnmask": control(a.target, MSI_TARGET_CONTROL.MASK, false); return null;
    case "pqOff": control(a.target, MSI_TARGET_CONTROL.ENABLE, false); return null;
    case "pqOn": control(a.target, MSI_TARGET_CONTROL.ENABLE, true); return null;
    case "pqAddress": d.setTarget(a.target, a.zero ? 0 : TEST_MSI_ADDR, testPqData(a.target)); return null;
    case "queueReset": return rig.negotiated(FEATURE.RING_RESET) ? rig.resetQueue(a.queue, true) : "queue reset in an episode without RING_RESET";
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
 * probe made it; on a device with the v3 layout, every target set, enabled and unmasked
 * too) and services the line; then every event must have reached it, in whichever mode is on.
 */
export function settleModeEpisode(rig: EchoRig, mapping: ModeMapping): StepResult {
  const d = rig.driver;
  const vectors = mapping === "shared" ? 2 : 3;
  for (let v = 0; v < vectors && rig.transport.msi !== null; v++) {
    d.configureVector(v, TEST_MSI_ADDR, testMsiData(v));
    d.msiCommand(MSI_CMD.UNMASK, v);
  }
  if (rig.transport.msiPerQueue !== null) {
    for (let t = 0; t < 3; t++) {
      d.setTarget(t, TEST_MSI_ADDR, testPqData(t));
      d.targetControl(t, MSI_TARGET_CONTROL.ENABLE);
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
