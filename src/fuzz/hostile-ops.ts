// What a hostile driver does, one operation at a time: register accesses anywhere in the window
// (unaligned, 8- and 16-bit, as the platform may deliver them), status transitions in any order,
// MSI commands with wild vectors, addresses and data, per-queue target commands with wild
// targets, switches between the line, the table and the per-queue mode, queue layouts that do
// not fit, scribbles over the rings, malformed chains and requests. Each returns the faults whose counting is
// certain in the state it found, so the fuzzer can check that they were counted.

import { FEATURE, MSI_CMD, MSI_PQ_CMD, MSI_PQ_TARGET_CONFIG, NO_VECTOR, REG, STATUS, type RegisterName } from "../virtio/constants.ts";
import { checkLayout } from "../virtio/split-queue.ts";
import { sendEvilChain } from "./evil-chains.ts";
import { MIN_MSI_VECTOR, MSI_WINDOW_BASE, MSI_WINDOW_END } from "./msi-sink.ts";
import type { Prng } from "../testing/prng.ts";
import { rawQueue } from "./raw-queue.ts";
import { expectRise, type Expectation, type Rig } from "./rig.ts";

type Op = (rig: Rig, rng: Prng) => Expectation[];

const names = (...n: RegisterName[]): Set<number> => new Set(n.map((x) => REG[x]));
const REGISTER_OFFSETS = new Set<number>(Object.values(REG).filter((o) => o < REG.Config));
const OFFSETS = [...Object.values(REG)];
const READ_ONLY = names(
  "MagicValue", "Version", "DeviceID", "VendorID", "DeviceFeatures", "QueueNumMax", "InterruptStatus", "ConfigGeneration",
  "SHMLenLow", "SHMLenHigh", "SHMBaseLow", "SHMBaseHigh", "MsiVecNum", "MsiState", "MsiPqHint", "MsiPqStatus",
);
const WRITE_ONLY = names(
  "DeviceFeaturesSel", "DriverFeatures", "DriverFeaturesSel", "QueueSel", "QueueNum", "QueueNotify", "InterruptACK",
  "QueueDescLow", "QueueDescHigh", "QueueDriverLow", "QueueDriverHigh", "QueueDeviceLow", "QueueDeviceHigh", "SHMSel",
  "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData", "MsiPqSel", "MsiPqAddrLow", "MsiPqAddrHigh", "MsiPqData",
  "MsiPqCmd",
);
const MSI_OFFSETS = names("MsiVecNum", "MsiState", "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData");
/** The per-queue mode's registers: no register at all on a device that does not offer it. */
const PQ_OFFSETS = names("MsiPqHint", "MsiPqSel", "MsiPqAddrLow", "MsiPqAddrHigh", "MsiPqData", "MsiPqCmd", "MsiPqStatus");
const { ACKNOWLEDGE: ACK, DRIVER, FEATURES_OK, DRIVER_OK, FAILED, DEVICE_NEEDS_RESET } = STATUS;
const STATUSES = [
  0, ACK, ACK | DRIVER, ACK | DRIVER | FEATURES_OK, ACK | DRIVER | FEATURES_OK | DRIVER_OK, FAILED, DRIVER, DRIVER_OK,
  ACK | FEATURES_OK, ACK | DRIVER | DRIVER_OK, 16, 32, DEVICE_NEEDS_RESET, 0xff, 0xffffffff,
];
const VALUES = [0, 1, 2, 3, 4, 7, 8, 15, 16, 0x40, 0x80, 0x1000, 0xfee00000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];

function value(rng: Prng): number {
  return rng.chance(0.5) ? rng.pick(VALUES) : rng.u32();
}

/** Widths as v86 delivers them: mostly 32-bit, 8-bit for byte accesses, 16-bit rarely. */
function width(rng: Prng): 1 | 2 | 4 {
  return rng.chance(0.7) ? 4 : rng.chance(0.85) ? 1 : 2;
}

function offset(rng: Prng): number {
  return rng.chance(0.6) ? rng.pick(OFFSETS) : rng.int(0x200);
}

/** The error a register access is certain to be counted as, if any. */
function accessFault(rig: Rig, off: number, w: 1 | 2 | 4, write: boolean): Expectation | null {
  const e = rig.transport.counters.errors;
  const rise = (k: keyof typeof e) => expectRise(`transport.${k}`, () => e[k]);
  if (off >= REG.Config) {
    const c = off - REG.Config;
    return c % w !== 0 || c + w > rig.device.configSize ? rise("badConfigAccess") : null;
  }
  if (w !== 4 || off % 4 !== 0) return rise("badWidth");
  if (!REGISTER_OFFSETS.has(off) || (PQ_OFFSETS.has(off) && rig.transport.msiPerQueue === null)) return rise("badOffset");
  if (rig.msiLayout === false && MSI_OFFSETS.has(off)) return rise("noMsi");
  if (write && READ_ONLY.has(off)) return rise("writeReadOnly");
  if (!write && WRITE_ONLY.has(off)) return rise("readWriteOnly");
  return null;
}

const regWrite: Op = (rig, rng) => {
  const off = offset(rng);
  const w = width(rng);
  const e = accessFault(rig, off, w, true);
  rig.transport.write(off, w, off === REG.Status && rng.chance(0.7) ? rng.pick(STATUSES) : value(rng));
  return e ? [e] : [];
};

const regRead: Op = (rig, rng) => {
  const off = offset(rng);
  const w = width(rng);
  const e = accessFault(rig, off, w, false);
  rig.transport.read(off, w);
  return e ? [e] : [];
};

const statusWrite: Op = (rig, rng) => {
  rig.driver.write32("Status", rng.pick(STATUSES));
  return [];
};

/** Stages a wild vector and runs a wild MsiCmd. */
const msiCommand: Op = (rig, rng) => {
  const d = rig.driver;
  const s = rig.transport.state();
  const n = s.msi?.vectors.length ?? 0;
  const vec = rng.pick([rng.int(Math.max(n, 1)), n + rng.int(4), NO_VECTOR, rng.u32()]);
  d.write32("MsiVecSel", vec);
  d.write32("MsiAddrLow", wildMsiAddress(rig, rng));
  d.write32("MsiAddrHigh", rng.chance(0.1) ? rng.u32() : 0);
  d.write32("MsiData", rng.chance(0.5) ? rng.int(MIN_MSI_VECTOR) : rng.u32());
  const queueSel = rng.chance(0.8) ? rng.int(rig.device.queueMaxSizes.length) : rng.u32();
  d.write32("QueueSel", queueSel);
  const pq = rig.transport.msiPerQueue !== null;
  const cmd = rng.chance(0.85) ? rng.range(1, pq ? 8 : 7) : rng.pick([0, 8, 9, 0x100, rng.u32()]);
  const e = rig.transport.counters.errors;
  const out: Expectation[] = [];
  const m = rig.transport.msi;
  if (m === null) {
    out.push(expectRise("transport.noMsi", () => e.noMsi));
  } else {
    const c = m.counters;
    const rise = (k: "badCommand" | "badVector" | "badQueue" | "mapInFixedMode") => out.push(expectRise(`msi.${k}`, () => c[k]));
    const isMap = cmd === MSI_CMD.MAP_CONFIG || cmd === MSI_CMD.MAP_QUEUE;
    const enables = cmd === MSI_CMD.ENABLE || (pq && cmd === MSI_CMD.ENABLE_PER_QUEUE);
    if ((cmd < MSI_CMD.ENABLE || cmd > MSI_CMD.MAP_QUEUE) && !enables) rise("badCommand");
    else if ((cmd === MSI_CMD.CONFIGURE || cmd === MSI_CMD.MASK || cmd === MSI_CMD.UNMASK) && vec >= n) rise("badVector");
    else if (isMap && !m.sharing) rise("mapInFixedMode");
    else if (isMap && vec !== NO_VECTOR && vec >= n) rise("badVector");
    else if (cmd === MSI_CMD.MAP_QUEUE && vec !== NO_VECTOR && queueSel >= rig.device.queueMaxSizes.length) rise("badQueue");
    const negotiated = (s.status & FEATURES_OK) !== 0 && (s.driverFeatures & FEATURE.MMIO_MSI) !== 0n;
    if (enables && !negotiated) out.push(expectRise("transport.msiWithoutFeature", () => e.msiWithoutFeature));
  }
  d.write32("MsiCmd", cmd);
  return out;
};

/** Selects a wild target, stages a wild message and runs a wild MsiPqCmd. */
const pqCommand: Op = (rig, rng) => {
  const d = rig.driver;
  const nq = rig.device.queueMaxSizes.length;
  const sel = rng.pick([rng.int(nq), MSI_PQ_TARGET_CONFIG, nq + rng.int(4), MSI_PQ_TARGET_CONFIG - 1, rng.u32()]);
  const cmd = rng.chance(0.85) ? rng.range(MSI_PQ_CMD.SET_MESSAGE, MSI_PQ_CMD.UNMASK) : rng.pick([0, 6, 8, 0x100, rng.u32()]);
  const pq = rig.transport.msiPerQueue;
  const out: Expectation[] = [];
  if (pq === null) {
    const e = rig.transport.counters.errors;
    out.push(expectRise("transport.badOffset", () => e.badOffset));
  } else if (cmd < MSI_PQ_CMD.SET_MESSAGE || cmd > MSI_PQ_CMD.UNMASK) {
    out.push(expectRise("msiPq.badCommand", () => pq.counters.badCommand));
  } else if (sel !== MSI_PQ_TARGET_CONFIG && sel >= nq) {
    out.push(expectRise("msiPq.badTarget", () => pq.counters.badTarget));
  }
  d.write32("MsiPqSel", sel);
  d.write32("MsiPqAddrLow", wildMsiAddress(rig, rng));
  d.write32("MsiPqAddrHigh", rng.chance(0.1) ? rng.u32() : 0);
  d.write32("MsiPqData", rng.chance(0.5) ? rng.int(MIN_MSI_VECTOR) : rng.u32());
  d.write32("MsiPqCmd", cmd);
  return out;
};

function wildMsiAddress(rig: Rig, rng: Prng): number {
  return rng.pick([
    MSI_WINDOW_BASE | (rng.int(256) << 12),
    rng.u32(),
    rng.int(rig.ram.size) & ~3,
    0,
    MSI_WINDOW_END,
    MSI_WINDOW_BASE - 4,
    rig.ram.size + 4 * rng.int(1024),
  ]);
}

/**
 * Points the config event's vector somewhere wrong (outside the window, a vector below 16, or
 * RAM) and makes the device raise the event: the platform must refuse it, counted, or it lands
 * in RAM as the plain memory write the spec says an MSI is.
 */
const msiToWrongPlace: Op = (rig, rng) => {
  const s = rig.transport.state();
  const msi = s.msi;
  const pq = s.msiPerQueue?.enabled ? s.msiPerQueue : null;
  if (pq === null && (msi === null || !msi.enabled)) return [];
  const v = pq !== null ? 0 : msi!.configVector;
  // The config target, or the config event's vector; it sends when it is unmasked (and enabled).
  const slot = pq !== null ? pq.targets[0] : msi!.vectors[v] && { ...msi!.vectors[v]!, enabled: true };
  if (slot === undefined) return [];
  const shape = rng.int(3);
  const addr = shape === 0 ? rng.pick([MSI_WINDOW_END + 4 * rng.int(1 << 20), MSI_WINDOW_BASE - 4 - 4 * rng.int(1 << 20)])
    : shape === 1 ? MSI_WINDOW_BASE | (rng.int(256) << 12) : 4 * rng.range(1, rig.ram.size / 4 - 1);
  const data = shape === 1 ? rng.int(MIN_MSI_VECTOR) | (rng.u32() & ~0xff) : rng.u32();
  if (pq !== null) rig.driver.setTarget(0, addr, data);
  else rig.driver.configureVector(v, addr, data);
  const sink = rig.sink.counters;
  const mem = rig.memory.counters;
  const dropped = pq !== null ? rig.transport.msiPerQueue!.counters.targets[0]! : rig.transport.msi!.counters.vectors[v]!;
  const out = [
    shape === 0 ? expectRise("platform.msiOutsideWindow", () => sink.outsideWindow)
      : shape === 1 ? expectRise("platform.msiIllegalVector", () => sink.illegalVector)
        : expectRise("memory.msiIntoRam", () => mem.busWritesIntoRam),
  ];
  if (shape !== 2) out.push(expectRise(pq !== null ? "msiPq.dropped" : "msi.dropped", () => dropped.dropped));
  const certain = rig.triggerConfig() && !slot.masked && slot.enabled;
  rig.driver.runTasks();
  return certain ? out : [];
};

/** A queue layout or size that cannot be used, where the registers accept it. */
const queueSetup: Op = (rig, rng) => {
  const d = rig.driver;
  const nq = rig.device.queueMaxSizes.length;
  // Queue registers are open only between FEATURES_OK and DRIVER_OK: get there now and then.
  if (rng.chance(0.3)) d.init({ driverOk: false, queueSizes: [] });
  const sel = rng.chance(0.9) ? rng.int(nq) : rng.u32();
  d.write32("QueueSel", sel);
  const s = rig.transport.state();
  const q = s.queues[sel];
  const open = q !== undefined && (s.status & FEATURES_OK) !== 0 && (s.status & DRIVER_OK) === 0 && !q.ready;
  const e = rig.transport.counters.errors;
  const out: Expectation[] = [];
  const max = q?.maxSize ?? 16;
  const num = rng.chance(0.7) ? 1 << rng.int(Math.log2(max) + 1) : rng.pick([0, 3, max + 1, max * 2, rng.u32()]);
  const numOk = num !== 0 && num <= max && (num & (num - 1)) === 0;
  if (open && !numOk) out.push(expectRise("transport.badQueueNum", () => e.badQueueNum));
  d.write32("QueueNum", num);
  const size = numOk ? num : (q?.size ?? max);
  const ram = rig.ram.size;
  const place = (): [number, number] =>
    rng.pick<[number, number]>([
      [4096 * rng.int(ram / 4096), 0],
      [4096 * rng.int(ram / 4096) + rng.range(1, 15), 0],
      [ram - rng.range(1, 64), 0],
      [rng.u32(), 0],
      [4096 * rng.int(ram / 4096), rng.range(1, 0xffffffff)],
    ]);
  const desc = place();
  const driver = place();
  const device = place();
  d.write32("QueueDescLow", desc[0]);
  d.write32("QueueDescHigh", desc[1]);
  d.write32("QueueDriverLow", driver[0]);
  d.write32("QueueDriverHigh", driver[1]);
  d.write32("QueueDeviceLow", device[0]);
  d.write32("QueueDeviceHigh", device[1]);
  const at = (p: [number, number]) => p[0] + p[1] * 0x1_0000_0000;
  const why = checkLayout({ size, desc: at(desc), avail: at(driver), used: at(device) }, max, ram);
  if (open && why !== null) out.push(expectRise(`transport.${why}`, () => e[why]));
  d.write32("QueueReady", 1);
  return out;
};

/** Random values over a live queue's ring fields, or anywhere in RAM. */
const scribble: Op = (rig, rng) => {
  const s = rig.transport.state();
  const live = s.queues.filter((q) => q.size > 0);
  const q = live.length > 0 ? rng.pick(live) : null;
  const ram = rig.ram.size;
  const targets = q
    ? [
        q.desc + 16 * rng.int(2 * q.size) + 4 * rng.int(4),
        q.driver, q.driver + 2, q.driver + 4 + 2 * rng.int(q.size), q.driver + 4 + 2 * q.size,
        q.device, q.device + 2, q.device + 4 + 8 * rng.int(q.size),
      ]
    : [];
  const at = rng.chance(0.85) && targets.length > 0 ? rng.pick(targets) : rng.int(ram);
  const v = rng.chance(0.5) ? rng.pick([0, 1, 0xffff, q?.size ?? 1, (q?.live?.lastAvailIdx ?? 0) + rng.range(1, 40)]) : rng.u32();
  if (at >= 0 && at + 4 <= ram) {
    if (rng.chance(0.5)) rig.driver.setU16(at, v & 0xffff);
    else rig.driver.setU32(at, v >>> 0);
  }
  return [];
};

const evilChain: Op = (rig, rng) => {
  const q = rawQueue(rig, rng.pick(rig.poppingQueues));
  return q === null ? [] : sendEvilChain(rig, rng, q);
};

const badRequest: Op = (rig, rng) => {
  const e = rig.hostileRequest(rng, rng.chance(0.9) ? rng.pick(rig.poppingQueues) : null);
  return e ? [e] : [];
};

const notify: Op = (rig, rng) => {
  const nq = rig.device.queueMaxSizes.length;
  const v = rng.chance(0.7) ? rng.int(nq) : rng.pick([nq, nq + 1, 0xffff, 0xffffffff, rng.u32()]);
  const e = rig.transport.counters.errors;
  const out = v >= nq ? [expectRise("transport.badNotify", () => e.badNotify)] : [];
  rig.driver.notify(v);
  if (rng.chance(0.7)) rig.driver.runTasks();
  return out;
};

const service: Op = (rig, rng) => {
  if (rng.chance(0.5)) rig.driver.handleLineInterrupt();
  else if (rng.chance(0.5)) rig.triggerConfig();
  rig.driver.runTasks();
  return [];
};

/** A probe now and then, so the rest of the episode hits a running device. */
const probe: Op = (rig, rng) => {
  rig.init(rng);
  return [];
};

const OPS: readonly [Op, number][] = [
  [regWrite, 18], [regRead, 10], [statusWrite, 5], [msiCommand, 10], [pqCommand, 5], [msiToWrongPlace, 3], [queueSetup, 5],
  [scribble, 10], [evilChain, 12], [badRequest, 10], [notify, 6], [service, 6], [probe, 2],
];
const TOTAL = OPS.reduce((n, [, w]) => n + w, 0);

/** One hostile operation; returns its name and the faults it is sure to have caused. */
export function hostileOp(rig: Rig, rng: Prng): { name: string; run: () => Expectation[] } {
  let r = rng.int(TOTAL);
  for (const [op, w] of OPS) {
    if (r < w) return { name: op.name, run: () => op(rig, rng) };
    r -= w;
  }
  return { name: "regWrite", run: () => regWrite(rig, rng) };
}
