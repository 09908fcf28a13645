// Episodes of interrupt-mode changes on the echo rigs (docs/virtio-mmio-msi.md, "Undelivered
// events"): MASK / UNMASK / DISABLE / ENABLE / MAP_* / re-CONFIGURE interleaved with completions
// and config changes, all through the registers. Each action is one fuzzer operation, so the
// rig's invariants (the no-lost-event ledger among them) are checked after every one; at the end
// the driver restores its set-up and services the line, and every event must then have reached it.
// MODE_SCRIPTS are fixed sequences (the seeds of issue 14) that every run plays first;
// randomModeActions makes new interleavings for later episodes.

import { MSI_CMD, NO_VECTOR } from "../constants.ts";
import { TEST_MSI_ADDR, testMsiData } from "../testing/test-driver.ts";
import type { EchoRig } from "./echo-rig.ts";
import type { Prng } from "./prng.ts";
import type { StepResult } from "./rig.ts";

export type ModeAction =
  | { readonly do: "mask" | "unmask"; readonly vector: number }
  | { readonly do: "disable" | "enable" | "config" | "ack" }
  | { readonly do: "complete"; readonly queue: number }
  | { readonly do: "mapQueue"; readonly queue: number; readonly vector: number }
  | { readonly do: "mapConfig"; readonly vector: number }
  /** CONFIGURE the vector with address 0 (Linux's teardown) or with the driver's message. */
  | { readonly do: "address"; readonly vector: number; readonly zero: boolean }
  /** Exactly these vectors' messages went out since the last expectation (any order). */
  | { readonly do: "expectSent"; readonly vectors: readonly number[] };

export interface ModeScript {
  readonly name: string;
  /** echo-fixed: config on 0, queue q on 1 + q. echo-shared: config on 0, both queues on 1. */
  readonly mapping: "fixed" | "shared";
  readonly actions: readonly ModeAction[];
}

const mask = (vector: number): ModeAction => ({ do: "mask", vector });
const unmask = (vector: number): ModeAction => ({ do: "unmask", vector });
const complete = (queue: number): ModeAction => ({ do: "complete", queue });
const sent = (...vectors: number[]): ModeAction => ({ do: "expectSent", vectors });
const DISABLE: ModeAction = { do: "disable" };
const ENABLE: ModeAction = { do: "enable" };
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
];

/** A random interleaving of mode changes, masks, remaps, completions and config changes. */
export function randomModeActions(rng: Prng, mapping: "fixed" | "shared", n: number): ModeAction[] {
  const vectors = mapping === "fixed" ? 3 : 2;
  const out: ModeAction[] = [];
  for (let i = 0; i < n; i++) {
    const v = rng.int(vectors);
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

/** One action through the registers; null when it went as it should. */
export function applyModeAction(rig: EchoRig, a: ModeAction): StepResult {
  const d = rig.driver;
  switch (a.do) {
    case "mask": d.msiCommand(MSI_CMD.MASK, a.vector); return null;
    case "unmask": d.msiCommand(MSI_CMD.UNMASK, a.vector); return null;
    case "disable": d.msiCommand(MSI_CMD.DISABLE); return null;
    case "enable": d.msiCommand(MSI_CMD.ENABLE); return null;
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
      const got = rig.sink.delivered.splice(0).map((data) => data - testMsiData(0)).sort();
      const want = [...a.vectors].sort();
      return got.length === want.length && got.every((v, i) => v === want[i]) ? null : `messages on vectors [${got}], expected [${want}]`;
    }
  }
}

/**
 * The driver puts its MSI set-up back (every vector configured and unmasked, the mapping as its
 * probe made it) and services the line; then every event must have reached it.
 */
export function settleModeEpisode(rig: EchoRig, mapping: "fixed" | "shared"): StepResult {
  const d = rig.driver;
  const vectors = mapping === "fixed" ? 3 : 2;
  for (let v = 0; v < vectors; v++) {
    d.configureVector(v, TEST_MSI_ADDR, testMsiData(v));
    d.msiCommand(MSI_CMD.UNMASK, v);
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
