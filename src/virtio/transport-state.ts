// The saved state of one virtio-mmio transport and everything under it (registers, queues and
// their ring indices and queue-reset state, the MSI layout with the 2020 vector table or the v3
// targets, undelivered events, the line): plain
// JSON-able data with a kind and a version, and its checker. A saved state is as untrusted as
// guest input (a file from disk, a page's IndexedDB): checkTransportState() refuses anything
// malformed, out of range, inconsistent or made for another device with an Error that says what
// and where, and returns a state the transport can apply without a single further check.
// The transport's Persist (persist.ts) is MmioTransport.persist: save, this check, applyState.
// Each MSI layout's section is checked beside its piece (msi-table-state.ts,
// msi-per-queue-state.ts). Every rule the registers enforce is the register path's own
// function (queueNumRefusal, statusRefusal, featuresRefusal, queueLayout with checkLayout,
// vectorRefusal, fixedQueueVector, modeMoveRefusal, msiFeatureRefusal), refused here under the
// counter the register path counts. The MSI switches saved by each layout are one interrupt
// mode (interrupt-mode.ts), reached from the line by moves of its transition table.
//
// The rule for chains a device took off a ring but had not completed at the save: the restored
// queue takes them again from the ring. Both our devices complete each queue in the order they
// took its chains (virtio-blk's FIFO, virtio-net's held rx buffers), so those are exactly the
// (lastAvailIdx - usedIdx) entries before lastAvailIdx; the guest's descriptors and buffers are
// in RAM, which the emulator saves. Counters are not saved: they describe this run.

import { FEATURE, STATUS } from "./constants.ts";
import { featuresRefusal, statusRefusal, type Refusal } from "./device-status.ts";
import { lineLevel, modeMoveRefusal, msiFeatureRefusal, type InterruptMode } from "./interrupt-mode.ts";
import { checkPerQueue, type SavedPerQueue } from "./msi-per-queue-state.ts";
import { checkMsiTable, type SavedMsiTable } from "./msi-table-state.ts";
import { queueLayout, queueNumRefusal } from "./queue-config.ts";
import { arr, bool, obj, onlyKeys, refuse, StateError, text, u16, u32, words, type Obj } from "./state-check.ts";

export { MAX_STATE_TEXT, StateError, type SavedMessage } from "./state-check.ts";
export type { SavedStaged, SavedMsiTable } from "./msi-table-state.ts";
export type { SavedPerQueue, SavedTarget } from "./msi-per-queue-state.ts";
import { checkLayout } from "./split-queue.ts";

export const TRANSPORT_STATE_KIND = "virtio-mmio-transport";
/**
 * 2: the v3 MSI layout (docs/virtio-mmio-msi-v3.md) and queue reset. Version 1 files came from
 * devices with the old per-queue mode under bit 40, which no device has now: refused, with a
 * message that says so.
 */
export const TRANSPORT_STATE_VERSION = 2;

/** A queue's registers, and its ring indices while the device runs. Addresses as [low, high] words. */
export interface SavedQueue {
  readonly num: number;
  readonly ready: boolean;
  /** Reset (QueueReset) after DRIVER_OK and not ready again: its registers stay writable. */
  readonly reopened: boolean;
  readonly desc: readonly [number, number];
  readonly driver: readonly [number, number];
  readonly device: readonly [number, number];
  readonly live: {
    readonly lastAvailIdx: number;
    readonly usedIdx: number;
    /** used idx at the device's last interrupt decision (event-idx's `old`). */
    readonly signalledIdx: number;
    readonly broken: string | null;
  } | null;
}

export interface TransportSavedState {
  readonly kind: typeof TRANSPORT_STATE_KIND;
  readonly version: typeof TRANSPORT_STATE_VERSION;
  readonly deviceId: number;
  /** What the transport offered, hex: a state of a differently configured device is refused. */
  readonly offeredFeatures: string;
  readonly status: number;
  readonly deviceFeaturesSel: number;
  readonly driverFeaturesSel: number;
  /** DriverFeatures words [0, 1]. */
  readonly driverFeatures: readonly [number, number];
  readonly queueSel: number;
  /** The transport's own part of ConfigGeneration (the device's part is the device's state). */
  readonly configGeneration: number;
  /** The device accepted DRIVER_OK and runs. */
  readonly active: boolean;
  readonly lastError: string | null;
  readonly queues: readonly SavedQueue[];
  /** Queues notified whose notify had not run yet. */
  readonly pendingNotify: readonly number[];
  /** Undelivered events: configuration change, and each queue's used buffers. */
  readonly events: { readonly config: boolean; readonly queues: readonly boolean[] };
  /** Redundant with the rest (the line is high exactly while it shows an event): checked. */
  readonly lineHigh: boolean;
  /** The layout the device was built with (also visible in offeredFeatures): checked against the target. */
  readonly msiLayout: "v3" | "2020" | null;
  /** The 2020 layout's table. */
  readonly msi: SavedMsiTable | null;
  /** The v3 layout's targets. */
  readonly msiPerQueue: SavedPerQueue | null;
}

/** A state checkTransportState() accepted, with its interrupt mode as the one value. */
export interface CheckedTransportState extends TransportSavedState {
  readonly mode: InterruptMode;
}

/** What the target transport is: a state must have been saved from one of the same shape. */
export interface TransportShape {
  readonly deviceId: number;
  readonly offeredFeatures: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly ramSize: number;
  readonly msi:
    | { readonly layout: "2020"; readonly vectors: number; readonly sharing: boolean }
    | { readonly layout: "v3" }
    | null;
}

const TOP_KEYS = [
  "kind", "version", "deviceId", "offeredFeatures", "status", "deviceFeaturesSel", "driverFeaturesSel",
  "driverFeatures", "queueSel", "configGeneration", "active", "lastError", "queues", "pendingNotify", "events",
  "lineHigh", "msiLayout", "msi", "msiPerQueue",
];

/**
 * Checks `input` (parsed JSON, or a state object) against the target's shape. Returns a state
 * that is complete, in range and consistent; throws a StateError naming the first problem.
 */
export function checkTransportState(input: unknown, shape: TransportShape): CheckedTransportState {
  const o = obj(input, "state");
  if (o.kind !== TRANSPORT_STATE_KIND) throw new StateError("kind", `expected "${TRANSPORT_STATE_KIND}", got ${JSON.stringify(o.kind)}`);
  if (o.version === 1) {
    throw new StateError("version", `version 1 was saved before the v3 MSI layout and queue reset (its per-queue MSI mode no longer exists); this build reads version ${TRANSPORT_STATE_VERSION} only`);
  }
  if (o.version !== TRANSPORT_STATE_VERSION) throw new StateError("version", `expected ${TRANSPORT_STATE_VERSION}, got ${JSON.stringify(o.version)}`);
  onlyKeys(o, TOP_KEYS, "state");
  const nq = shape.queueMaxSizes.length;

  if (o.deviceId !== shape.deviceId) throw new StateError("deviceId", `saved from device type ${String(o.deviceId)}, this is ${shape.deviceId}`);
  const offered = `0x${shape.offeredFeatures.toString(16)}`;
  if (o.offeredFeatures !== offered) {
    throw new StateError("offeredFeatures", `saved from a device offering ${String(o.offeredFeatures)}, this one offers ${offered}`);
  }

  const status = u32(o.status, "status");
  refuse("status", statusRefusal(status & ~STATUS.DEVICE_NEEDS_RESET));
  const driverFeatures = words(o.driverFeatures, "driverFeatures");
  const negotiated = (BigInt(driverFeatures[1]) << 32n) | BigInt(driverFeatures[0]);
  if (status & STATUS.FEATURES_OK) refuse("driverFeatures", featuresRefusal(negotiated, shape.offeredFeatures));
  const active = bool(o.active, "active");
  if (active && !(status & STATUS.DRIVER_OK)) throw new StateError("active", "a running device without DRIVER_OK");

  const queues = arr(o.queues, nq, "queues").map((qv, i): SavedQueue => {
    const p = `queues[${i}]`;
    const q = obj(qv, p);
    onlyKeys(q, ["num", "ready", "reopened", "desc", "driver", "device", "live"], p);
    const num = u32(q.num, `${p}.num`);
    const max = shape.queueMaxSizes[i]!;
    refuse(`${p}.num`, queueNumRefusal(num, max));
    const ready = bool(q.ready, `${p}.ready`);
    const reopened = bool(q.reopened, `${p}.reopened`);
    if (reopened && (ready || !(status & STATUS.DRIVER_OK) || (negotiated & FEATURE.RING_RESET & shape.offeredFeatures) === 0n || shape.msi?.layout === "2020")) {
      throw new StateError(`${p}.reopened`, "a reset queue that is ready, before DRIVER_OK, or without RING_RESET");
    }
    const desc = words(q.desc, `${p}.desc`);
    const driver = words(q.driver, `${p}.driver`);
    const device = words(q.device, `${p}.device`);
    if (ready) {
      if (!(status & STATUS.FEATURES_OK)) throw new StateError(`${p}.ready`, "a ready queue before FEATURES_OK");
      // QueueReady's own check, on the layout the registers describe (queue-config.ts).
      const why = checkLayout(queueLayout({ num, desc, driver, device }), max, shape.ramSize);
      if (why !== null) throw new StateError(p, `ring layout refused (${why})`);
    }
    let live: SavedQueue["live"] = null;
    // The transport builds the ready queues at DRIVER_OK, also when the device then refuses them.
    const built = ready && (status & STATUS.DRIVER_OK) !== 0;
    if (q.live !== null) {
      if (!built) throw new StateError(`${p}.live`, "ring indices for a queue that does not run");
      const l = obj(q.live, `${p}.live`);
      onlyKeys(l, ["lastAvailIdx", "usedIdx", "signalledIdx", "broken"], `${p}.live`);
      live = {
        lastAvailIdx: u16(l.lastAvailIdx, `${p}.live.lastAvailIdx`),
        usedIdx: u16(l.usedIdx, `${p}.live.usedIdx`),
        signalledIdx: u16(l.signalledIdx, `${p}.live.signalledIdx`),
        broken: text(l.broken, `${p}.live.broken`),
      };
      const taken = (live.lastAvailIdx - live.usedIdx) & 0xffff;
      if (taken > num) throw new StateError(`${p}.live`, `${taken} chains in flight on a queue of ${num}`);
    } else if (built) {
      throw new StateError(`${p}.live`, "a running queue without ring indices");
    }
    return { num, ready, reopened, desc, driver, device, live };
  });

  if (!Array.isArray(o.pendingNotify)) throw new StateError("pendingNotify", "expected an array");
  const pendingNotify = o.pendingNotify.map((v: unknown, k) => {
    const q = u32(v, `pendingNotify[${k}]`);
    if (queues[q]?.live == null) throw new StateError(`pendingNotify[${k}]`, `queue ${q} does not run`);
    return q;
  });
  if (new Set(pendingNotify).size !== pendingNotify.length) throw new StateError("pendingNotify", "a queue listed twice");

  const ev = obj(o.events, "events");
  onlyKeys(ev, ["config", "queues"], "events");
  const events = {
    config: bool(ev.config, "events.config"),
    queues: arr(ev.queues, nq, "events.queues").map((v, i) => bool(v, `events.queues[${i}]`)),
  };

  const layout = shape.msi?.layout ?? null;
  if (o.msiLayout !== layout) throw new StateError("msiLayout", `saved from a device with MSI layout ${JSON.stringify(o.msiLayout)}, this one has ${JSON.stringify(layout)}`);
  const msiBit = layout === "2020" ? FEATURE.MMIO_MSI_2020 : FEATURE.MMIO_MSI;
  const msiNegotiated = (status & STATUS.FEATURES_OK) !== 0 && (negotiated & msiBit) !== 0n;
  // The saved format keeps each layout's own switch (MsiState.ENABLED, MsiControl.MSI_ENABLE).
  // They are one mode value: the one the switches that are on reach from the line, each a move
  // of the transition table the registers obey, and with the feature the registers ask for.
  let mode: InterruptMode = "line";
  const switches = [[o.msi, "table", "msi.enabled"], [o.msiPerQueue, "per-queue", "msiPerQueue.enabled"]] as const;
  for (const [section, to, path] of switches) {
    if (typeof section !== "object" || section === null || (section as Obj).enabled !== true) continue;
    refuse(path, modeMoveRefusal(layout, mode, to));
    refuse(path, msiFeatureRefusal(to, msiNegotiated));
    mode = to;
  }
  let msi: SavedMsiTable | null = null;
  if (shape.msi === null || shape.msi.layout !== "2020") {
    if (o.msi !== null) throw new StateError("msi", "an MSI table for a device without the 2020 layout");
  } else {
    msi = checkMsiTable(o.msi, { vectors: shape.msi.vectors, sharing: shape.msi.sharing, queues: nq });
  }
  let msiPerQueue: SavedPerQueue | null = null;
  if (layout !== "v3") {
    if (o.msiPerQueue !== null) throw new StateError("msiPerQueue", "v3 targets for a device without the v3 layout");
  } else {
    msiPerQueue = checkPerQueue(o.msiPerQueue, nq);
  }

  const lineHigh = bool(o.lineHigh, "lineHigh");
  const anyEvent = events.config || events.queues.some((e) => e);
  if (lineHigh !== lineLevel(mode, anyEvent)) {
    throw new StateError("lineHigh", `the line is ${lineHigh ? "high" : "low"} but the events and mode say otherwise`);
  }

  return {
    kind: TRANSPORT_STATE_KIND,
    version: TRANSPORT_STATE_VERSION,
    deviceId: shape.deviceId,
    offeredFeatures: offered,
    status,
    deviceFeaturesSel: u32(o.deviceFeaturesSel, "deviceFeaturesSel"),
    driverFeaturesSel: u32(o.driverFeaturesSel, "driverFeaturesSel"),
    driverFeatures,
    queueSel: u32(o.queueSel, "queueSel"),
    configGeneration: u32(o.configGeneration, "configGeneration"),
    active,
    lastError: text(o.lastError, "lastError"),
    queues,
    pendingNotify,
    events,
    lineHigh,
    msiLayout: layout,
    msi,
    msiPerQueue,
    mode,
  };
}
