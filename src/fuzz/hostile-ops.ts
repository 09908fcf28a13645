// What a hostile driver does, one operation at a time: register accesses anywhere in the window
// (unaligned, 8- and 16-bit, as the platform may deliver them), status transitions in any order,
// 2020-layout MSI commands with wild vectors, addresses and data, v3 target registers with
// wild values and queue selections, MSI_ENABLE switches, QueueReset at any time with any value
// (checked against D10 of docs/virtio-mmio-msi-v3.md when it is accepted), queue layouts that
// do not fit, scribbles over the rings, malformed chains and requests. Each returns the faults
// whose counting is certain in the state it found, so the fuzzer can check that they were
// counted, or why the device broke a rule.

import { FEATURE, MSI_CMD, MSI_CONTROL, MSI_TARGET_CONTROL, NO_VECTOR, REG, STATUS, type RegisterName } from "../virtio/constants.ts";
import { checkLayout } from "../virtio/split-queue.ts";
import { sendEvilChain } from "./evil-chains.ts";
import { MIN_MSI_VECTOR, MSI_WINDOW_BASE, MSI_WINDOW_END } from "./msi-sink.ts";
import type { Prng } from "../testing/prng.ts";
import { rawQueue } from "./raw-queue.ts";
import { expectRise, type Expectation, type Rig, type StepResult } from "./rig.ts";

/** The faults an operation is sure to have caused, or (a string) the rule the device broke. */
type Op = (rig: Rig, rng: Prng) => Expectation[] | StepResult;

const OFFSETS = [...new Set(Object.values(REG))];
const READ_ONLY = new Set<RegisterName>([
  "MagicValue", "Version", "DeviceID", "VendorID", "DeviceFeatures", "QueueNumMax", "InterruptStatus", "ConfigGeneration",
  "SHMLenLow", "SHMLenHigh", "SHMBaseLow", "SHMBaseHigh", "MsiVecNum", "MsiState", "MsiVectorHint",
  "MsiReserved0", "MsiReserved1", "MsiReserved2", "MsiReserved3",
]);
const WRITE_ONLY = new Set<RegisterName>([
  "DeviceFeaturesSel", "DriverFeatures", "DriverFeaturesSel", "QueueSel", "QueueNum", "QueueNotify", "InterruptACK",
  "QueueDescLow", "QueueDescHigh", "QueueDriverLow", "QueueDriverHigh", "QueueDeviceLow", "QueueDeviceHigh", "SHMSel",
  "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData",
]);
const MSI_2020 = new Set<RegisterName>(["MsiVecNum", "MsiState", "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData"]);
const MSI_V3 = new Set<RegisterName>([
  "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl", "ConfigMsiAddrLow", "ConfigMsiAddrHigh",
  "ConfigMsiData", "ConfigMsiControl", "MsiControl", "MsiVectorHint", "MsiReserved0", "MsiReserved1", "MsiReserved2", "MsiReserved3",
]);
/** The register at each offset below the config space, in each layout (the fuzzer's own map, not the transport's). */
const NAMES_V3 = new Map<number, RegisterName>();
const NAMES_2020 = new Map<number, RegisterName>();
for (const [name, off] of Object.entries(REG) as [RegisterName, number][]) {
  if (off >= REG.Config) continue;
  if (!MSI_2020.has(name)) NAMES_V3.set(off, name);
  if (!MSI_V3.has(name) && name !== "QueueReset") NAMES_2020.set(off, name);
}
const is2020 = (rig: Rig): boolean => rig.msiLayout !== false && rig.msiLayout.layout === "2020";
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
  const name = (is2020(rig) ? NAMES_2020 : NAMES_V3).get(off);
  if (name === undefined || (name === "QueueReset" && !rig.transport.state().ringReset)) return rise("badOffset");
  if (rig.msiLayout === false && (MSI_2020.has(name) || MSI_V3.has(name))) return rise("noMsi");
  if (write && READ_ONLY.has(name)) return rise("writeReadOnly");
  if (!write && WRITE_ONLY.has(name)) return rise("readWriteOnly");
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
  // On the other layouts these offsets are v3 registers (or none): their own op drives them.
  if (!is2020(rig)) return targetWrite(rig, rng);
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
  const cmd = rng.chance(0.85) ? rng.range(1, 7) : rng.pick([0, 8, 9, 0x100, rng.u32()]);
  const e = rig.transport.counters.errors;
  const out: Expectation[] = [];
  const m = rig.transport.msi;
  if (m === null) {
    out.push(expectRise("transport.noMsi", () => e.noMsi));
  } else {
    const c = m.counters;
    const rise = (k: "badCommand" | "badVector" | "badQueue" | "mapInFixedMode") => out.push(expectRise(`msi.${k}`, () => c[k]));
    const isMap = cmd === MSI_CMD.MAP_CONFIG || cmd === MSI_CMD.MAP_QUEUE;
    const enables = cmd === MSI_CMD.ENABLE;
    if ((cmd < MSI_CMD.ENABLE || cmd > MSI_CMD.MAP_QUEUE) && !enables) rise("badCommand");
    else if ((cmd === MSI_CMD.CONFIGURE || cmd === MSI_CMD.MASK || cmd === MSI_CMD.UNMASK) && vec >= n) rise("badVector");
    else if (isMap && !m.sharing) rise("mapInFixedMode");
    else if (isMap && vec !== NO_VECTOR && vec >= n) rise("badVector");
    else if (cmd === MSI_CMD.MAP_QUEUE && vec !== NO_VECTOR && queueSel >= rig.device.queueMaxSizes.length) rise("badQueue");
    const negotiated = (s.status & FEATURES_OK) !== 0 && (s.driverFeatures & FEATURE.MMIO_MSI_2020) !== 0n;
    if (enables && !negotiated) out.push(expectRise("transport.msiWithoutFeature", () => e.msiWithoutFeature));
  }
  d.write32("MsiCmd", cmd);
  return out;
};

/**
 * A v3 register with a wild value: a queue's target (QueueSel often past the last queue), the
 * configuration target, or MsiControl; a pair written in any order, half pairs, control words
 * with reserved bits (docs/virtio-mmio-msi-v3.md, D3, D7, D11).
 */
const targetWrite: Op = (rig, rng) => {
  const d = rig.driver;
  const nq = rig.device.queueMaxSizes.length;
  const pq = rig.transport.msiPerQueue;
  const e = rig.transport.counters.errors;
  const out: Expectation[] = [];
  if (is2020(rig)) return [];
  const sel = rng.chance(0.8) ? rng.int(nq) : rng.pick([nq, nq + 1, 0xffff, 0xffffffff, rng.u32()]);
  d.write32("QueueSel", sel);
  const reg = rng.pick<RegisterName>([
    "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl", "ConfigMsiAddrLow", "ConfigMsiAddrHigh",
    "ConfigMsiData", "ConfigMsiControl", "MsiControl",
  ]);
  const control = reg.endsWith("Control");
  const v = reg === "MsiControl"
    ? rng.chance(0.8) ? rng.int(2) : rng.pick([2, 3, 0x80000001, rng.u32()])
    : control ? (rng.chance(0.8) ? rng.int(8) : rng.pick([8, 9, 0x10, rng.u32()]))
      : reg.endsWith("AddrLow") ? wildMsiAddress(rig, rng)
        : reg.endsWith("AddrHigh") ? (rng.chance(0.8) ? 0 : rng.u32())
          : rng.chance(0.5) ? rng.int(MIN_MSI_VECTOR) : rng.u32();
  if (pq === null) {
    out.push(expectRise("transport.noMsi", () => e.noMsi));
  } else if (reg.startsWith("QueueMsi") && sel >= nq) {
    out.push(expectRise("transport.badQueueSel", () => e.badQueueSel));
  } else if (reg === "MsiControl" && (v & ~MSI_CONTROL.MSI_ENABLE) !== 0) {
    out.push(expectRise("transport.badMsiControl", () => e.badMsiControl));
  } else if (reg === "MsiControl" && v === MSI_CONTROL.MSI_ENABLE && (rig.transport.state().negotiatedFeatures & FEATURE.MMIO_MSI) === 0n) {
    out.push(expectRise("transport.msiWithoutFeature", () => e.msiWithoutFeature));
  } else if (control && reg !== "MsiControl" && (v & ~(MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK | MSI_TARGET_CONTROL.PENDING)) !== 0) {
    out.push(expectRise("msiPq.badControl", () => pq.counters.badControl));
  }
  d.write32(reg, v);
  return out;
};

/**
 * QueueReset with any value, on any queue, in any state. Refused unless it is 1, RING_RESET
 * was negotiated and the queue is enabled (counted, nothing changes); accepted, it must do what
 * D10 says (Rig.resetQueue checks it through the registers), and now and then the driver sets
 * the queue up again.
 */
const queueReset: Op = (rig, rng) => {
  const d = rig.driver;
  const t = rig.transport;
  const nq = rig.device.queueMaxSizes.length;
  const s = t.state();
  if (!s.ringReset) return [];
  const q = rng.chance(0.9) ? rng.int(nq) : rng.pick([nq, 0xffff, rng.u32()]);
  const value = rng.chance(0.8) ? 1 : rng.pick([0, 2, 0xffffffff, rng.u32()]);
  const negotiated = (s.status & FEATURES_OK) !== 0 && (s.driverFeatures & FEATURE.RING_RESET) !== 0n;
  const ready = s.queues[q]?.ready ?? false;
  const e = t.counters.errors;
  if (q >= nq) {
    const x = expectRise("transport.badQueueSel", () => e.badQueueSel);
    d.write32("QueueSel", q);
    d.write32("QueueReset", value);
    return [x];
  }
  if (value !== 1 || !negotiated || !ready) {
    const x = expectRise("transport.badQueueReset", () => e.badQueueReset);
    d.write32("QueueSel", q);
    d.write32("QueueReset", value);
    return [x];
  }
  return rig.resetQueue(q, rng.chance(0.6) && (s.status & DRIVER_OK) !== 0);
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
  [regWrite, 18], [regRead, 10], [statusWrite, 5], [msiCommand, 10], [targetWrite, 5], [queueReset, 4], [msiToWrongPlace, 3], [queueSetup, 5],
  [scribble, 10], [evilChain, 12], [badRequest, 10], [notify, 6], [service, 6], [probe, 2],
];
const TOTAL = OPS.reduce((n, [, w]) => n + w, 0);

/** One hostile operation; returns its name and the faults it is sure to have caused. */
export function hostileOp(rig: Rig, rng: Prng): { name: string; run: () => Expectation[] | StepResult } {
  let r = rng.int(TOTAL);
  for (const [op, w] of OPS) {
    if (r < w) return { name: op.name, run: () => op(rig, rng) };
    r -= w;
  }
  return { name: "regWrite", run: () => regWrite(rig, rng) };
}
