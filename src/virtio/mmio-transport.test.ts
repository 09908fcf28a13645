import { describe, expect, it } from "vitest";
import { MmioTransport, type MmioMsiOptions, type MmioTransportErrors } from "./mmio-transport.ts";
import { RamMemory } from "./ram-memory.ts";
import { FEATURE, INTERRUPT, MMIO_MAGIC, MSI_CMD, REG, STATUS } from "./constants.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TEST_MSI_ADDR, TestDriver, testMsiData } from "../testing/test-driver.ts";
import type { ActivationContext } from "./interfaces.ts";

const { ACKNOWLEDGE: ACK, DRIVER, FEATURES_OK, DRIVER_OK, FAILED, DEVICE_NEEDS_RESET } = STATUS;
const MSI2 = { layout: "2020" as const, vectors: 2, sharing: true } as const;

function driver(o: { queues?: number[]; msi?: MmioMsiOptions; features?: bigint } = {}) {
  const device = new EchoDevice({ queues: o.queues ?? [16], ...(o.features !== undefined ? { features: o.features } : {}) });
  const d = new TestDriver({ device, ramSize: 1 << 20, msi: o.msi ?? false });
  return { d, device, t: d.transport, e: d.transport.counters.errors };
}

const bytes = (...b: number[]) => new Uint8Array(b);

describe("MmioTransport: identification and features", () => {
  it("identifies as a version 2 virtio-mmio device", () => {
    const { d } = driver();
    expect(d.read32("MagicValue")).toBe(MMIO_MAGIC);
    expect(d.read32("Version")).toBe(2);
    expect(d.read32("DeviceID")).toBe(0x7f);
    expect(d.read32("VendorID")).not.toBe(0);
    expect(d.read32("SHMLenLow")).toBe(0xffffffff);
  });

  it("offers the device's bits plus VERSION_1 and RING_RESET, an MSI bit only with a layout (D1)", () => {
    const f = FEATURE.EVENT_IDX | FEATURE.RING_PACKED | FEATURE.MMIO_NOTIFICATION | FEATURE.MMIO_MSI | FEATURE.RING_RESET | 1n;
    const { d } = driver({ features: f });
    expect(d.offeredFeatures()).toBe(FEATURE.EVENT_IDX | FEATURE.VERSION_1 | FEATURE.RING_RESET | 1n);
    const { d: v3 } = driver({ features: f, msi: { layout: "v3" } });
    expect(v3.offeredFeatures()).toBe(FEATURE.EVENT_IDX | FEATURE.VERSION_1 | FEATURE.RING_RESET | FEATURE.MMIO_MSI | 1n);
    // The 2020 layout: bit 40 is its MSI bit, so RING_RESET (the same bit) is not offered.
    const { d: m } = driver({ features: f, msi: MSI2 });
    expect(m.offeredFeatures()).toBe(FEATURE.EVENT_IDX | FEATURE.VERSION_1 | FEATURE.MMIO_MSI_2020 | 1n);
    m.write32("DeviceFeaturesSel", 2);
    expect(m.read32("DeviceFeatures")).toBe(0);
  });

  it("accepts a subset that includes VERSION_1", () => {
    const { d, t } = driver();
    const r = d.init({ features: FEATURE.VERSION_1 | FEATURE.INDIRECT_DESC });
    expect(r.ok).toBe(true);
    expect(t.state().negotiatedFeatures).toBe(FEATURE.VERSION_1 | FEATURE.INDIRECT_DESC);
    expect(d.read32("Status")).toBe(ACK | DRIVER | FEATURES_OK | DRIVER_OK);
  });

  it.each([
    ["a bit not offered", FEATURE.VERSION_1 | (1n << 5n)],
    ["no VERSION_1", FEATURE.EVENT_IDX],
    ["MMIO_MSI from a device without it", FEATURE.VERSION_1 | FEATURE.MMIO_MSI],
  ])("refuses %s: FEATURES_OK does not stick", (_n, f) => {
    const { d, e, device } = driver();
    expect(d.init({ features: f }).ok).toBe(false);
    expect(d.read32("Status") & FEATURES_OK).toBe(0);
    expect(e.featuresRejected).toBe(1);
    expect(device.counters.activations).toBe(0);
  });

  it("locks the driver features outside ACK|DRIVER .. FEATURES_OK", () => {
    const { d, e, t } = driver();
    d.write32("DriverFeatures", 1); // status 0
    d.init();
    d.writeDriverFeatures(FEATURE.VERSION_1 | FEATURE.EVENT_IDX); // after FEATURES_OK
    expect(e.featuresLocked).toBe(3);
    expect(t.state().driverFeatures & FEATURE.EVENT_IDX).not.toBe(0n); // from init, unchanged
  });

  it("counts a non-zero write to a driver feature word beyond 1", () => {
    const { d, e } = driver();
    d.addStatus(ACK | DRIVER);
    d.write32("DriverFeaturesSel", 2);
    d.write32("DriverFeatures", 0);
    d.write32("DriverFeatures", 1);
    expect(e.badFeatureSel).toBe(1);
  });
});

describe("MmioTransport: status machine", () => {
  it.each([
    ["DRIVER without ACK", [DRIVER]],
    ["FEATURES_OK without DRIVER", [ACK, ACK | FEATURES_OK]],
    ["DRIVER_OK without FEATURES_OK", [ACK, ACK | DRIVER, ACK | DRIVER | DRIVER_OK]],
    ["clearing a bit", [ACK, ACK | DRIVER, ACK]],
    ["an undefined bit", [ACK | 16]],
  ])("%s is counted and ignored", (_n, writes) => {
    const { d, e } = driver();
    let last = 0;
    for (const w of writes) {
      const before = d.read32("Status");
      d.write32("Status", w);
      last = d.read32("Status");
      if (last === before && w !== before) break;
    }
    expect(e.badStatus).toBe(1);
    expect(last).toBe(writes.length > 1 ? writes[writes.length - 2] : 0);
  });

  it("FAILED may be set at any time; the device-owned NEEDS_RESET bit in a write is ignored", () => {
    const { d, e } = driver();
    d.write32("Status", FAILED);
    expect(d.read32("Status")).toBe(FAILED);
    d.write32("Status", 0);
    d.write32("Status", ACK | DEVICE_NEEDS_RESET);
    expect(d.read32("Status")).toBe(ACK);
    expect(e.badStatus).toBe(0);
  });
});

describe("MmioTransport: queue setup", () => {
  it("reports QueueNumMax per queue and 0 past the last", () => {
    const { d } = driver({ queues: [16, 64] });
    d.write32("QueueSel", 1);
    expect(d.read32("QueueNumMax")).toBe(64);
    d.write32("QueueSel", 2);
    expect(d.read32("QueueNumMax")).toBe(0);
    expect(d.read32("QueueReady")).toBe(0);
  });

  it("accepts queue registers only between FEATURES_OK and DRIVER_OK", () => {
    const { d, e } = driver();
    d.addStatus(ACK | DRIVER);
    d.write32("QueueNum", 8);
    d.write32("QueueDescLow", 0x1000);
    expect(e.queueLocked).toBe(2);
    d.writeDriverFeatures(FEATURE.VERSION_1);
    d.addStatus(FEATURES_OK);
    d.setupQueue(0, 8);
    expect(d.read32("QueueReady")).toBe(1);
    d.write32("QueueDescLow", 0x2000); // ready queue
    d.addStatus(DRIVER_OK);
    d.write32("QueueNum", 4);
    d.write32("QueueReady", 0);
    expect(e.queueLocked).toBe(5);
    expect(d.transport.state().queues[0]).toMatchObject({ size: 8, ready: true, desc: d.queues[0]!.desc });
  });

  it.each([0, 3, 12, 32, 0xffffffff])("QueueNum %s is counted and ignored", (n) => {
    const { d, e, t } = driver();
    d.init({ driverOk: false, queueSizes: [] });
    d.write32("QueueNum", n);
    expect(e.badQueueNum).toBe(1);
    expect(t.state().queues[0]!.size).toBe(16);
  });

  it("queue registers with QueueSel out of range are counted", () => {
    const { d, e } = driver();
    d.init({ driverOk: false, queueSizes: [] });
    d.write32("QueueSel", 5);
    d.write32("QueueNum", 8);
    d.write32("QueueReady", 1);
    d.write32("QueueDeviceHigh", 0);
    expect(e.badQueueSel).toBe(3);
  });

  type Layout = { desc: number; descHigh?: number; avail: number; used: number };
  it.each<[string, Layout, keyof MmioTransportErrors]>([
    ["desc misaligned", { desc: 0x1008, avail: 0x2000, used: 0x3000 }, "ringAlign"],
    ["avail misaligned", { desc: 0x1000, avail: 0x2001, used: 0x3000 }, "ringAlign"],
    ["used misaligned", { desc: 0x1000, avail: 0x2000, used: 0x3002 }, "ringAlign"],
    ["used ring past RAM", { desc: 0x1000, avail: 0x2000, used: (1 << 20) - 16 }, "ringOutOfRange"],
    ["desc above 4 GiB", { desc: 0x1000, descHigh: 1, avail: 0x2000, used: 0x3000 }, "ringOutOfRange"],
  ])("QueueReady = 1 with %s is refused and counted", (_n, l, kind) => {
    const { d, e } = driver();
    d.init({ driverOk: false, queueSizes: [] });
    d.write32("QueueNum", 8);
    d.write32("QueueDescLow", l.desc);
    d.write32("QueueDescHigh", l.descHigh ?? 0);
    d.write32("QueueDriverLow", l.avail);
    d.write32("QueueDeviceLow", l.used);
    d.write32("QueueReady", 1);
    expect(d.read32("QueueReady")).toBe(0);
    expect(e[kind]).toBe(1);
  });

  it("QueueReady = 0 on an idle queue is quietly accepted in any state (Linux teardown)", () => {
    const { d, e } = driver();
    d.write32("QueueReady", 0);
    expect(e.queueLocked).toBe(0);
  });
});

describe("MmioTransport: data path on the interrupt line", () => {
  it("processes a notify from a task, never inside the access", () => {
    const { d, device } = driver();
    d.init();
    const c = d.addChain(0, { readable: [bytes(1, 2, 3)], writable: [3] });
    d.notify(0);
    d.notify(0);
    expect(device.counters.notifies).toBe(0);
    expect(d.tasks).toHaveLength(1); // two notifies, one task
    d.runTasks();
    expect(device.counters.notifies).toBe(1);
    expect(d.takeUsed(0)).toEqual([{ id: c.head, len: 3 }]);
    expect(Array.from(d.read(c.writable[0]!.addr, 3))).toEqual([1, 2, 3]);
  });

  it("sets InterruptStatus and raises the line; ACK clears and lowers", () => {
    const { d, t } = driver();
    d.init();
    d.addChain(0, { readable: [bytes(1)], writable: [1] }, { indirect: true });
    d.kick(0);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineEvents).toEqual(["raise"]);
    expect(d.handleLineInterrupt()).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineEvents).toEqual(["raise", "lower"]);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(t.counters.interrupts).toMatchObject({ lineRaised: 1, usedBuffer: 1, msi: 0 });
    expect(t.counters.reads.InterruptStatus).toBe(3);
    expect(t.counters.writes.InterruptACK).toBe(1);
  });

  it("bits left after an ACK get a fresh edge (lower, raise again)", () => {
    const { d, device } = driver();
    d.init();
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    device.changeConfig(0, 5);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    d.write32("InterruptACK", INTERRUPT.USED_BUFFER);
    expect(d.lineEvents).toEqual(["raise", "lower", "raise"]);
    expect(d.handleLineInterrupt()).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(d.lineHigh).toBe(false);
  });

  it("event-idx suppression reaches the line", () => {
    const { d, t } = driver();
    d.init();
    d.autoUsedEvent = false;
    d.setUsedEvent(0, 1); // "interrupt me after two completions"
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.lineEvents).toEqual([]);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.lineEvents).toEqual(["raise"]);
    expect(t.state().queues[0]!.live!.counters).toMatchObject({ interrupts: 1, suppressed: 1 });
  });

  it("a config change bumps ConfigGeneration and raises a config interrupt", () => {
    const { d, device } = driver();
    d.init();
    const g = d.read32("ConfigGeneration");
    device.changeConfig(1, 0xaa);
    expect(d.read32("ConfigGeneration")).toBe(g + 1);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(d.transport.read(REG.Config + 1, 1)).toBe(0xaa);
  });

  it("ConfigGeneration also follows the device's own config changes, before DRIVER_OK too", () => {
    const device = Object.assign(new EchoDevice(), { configGeneration: 0 });
    const d = new TestDriver({ device });
    d.init({ driverOk: false });
    const g = d.read32("ConfigGeneration");
    device.configGeneration++; // changed a field, no interrupt (not running yet)
    expect(d.read32("ConfigGeneration")).not.toBe(g);
    expect(d.lineEvents).toEqual([]);
    expect(d.transport.state().configGeneration).toBe(d.read32("ConfigGeneration"));
  });
});

describe("MmioTransport: hostile register accesses", () => {
  it.each<[string, (d: TestDriver) => void, keyof MmioTransportErrors]>([
    ["8-bit register read", (d) => d.transport.read(REG.Status, 1), "badWidth"],
    ["16-bit register write", (d) => d.transport.write(REG.Status, 2, 1), "badWidth"],
    ["misaligned 32-bit read", (d) => d.transport.read(REG.Status + 1, 4), "badWidth"],
    ["offset past the window", (d) => d.transport.read(0x200, 4), "badOffset"],
    ["negative offset", (d) => d.transport.write(-4, 4, 0), "badOffset"],
    ["fractional offset", (d) => d.transport.read(1.5, 4), "badOffset"],
    ["NaN offset", (d) => d.transport.write(NaN, 4, 0), "badOffset"],
    ["hole in the register map", (d) => d.transport.read(0x018, 4), "badOffset"],
    ["write to MagicValue", (d) => d.write32("MagicValue", 0), "writeReadOnly"],
    ["read of QueueNotify", (d) => d.read32("QueueNotify"), "readWriteOnly"],
    ["config read past configSize", (d) => d.transport.read(REG.Config + 8, 1), "badConfigAccess"],
    ["config read straddling the end", (d) => d.transport.read(REG.Config + 6, 4), "badConfigAccess"],
    ["misaligned config read", (d) => d.transport.read(REG.Config + 1, 2), "badConfigAccess"],
    ["config write of width 3", (d) => d.transport.write(REG.Config, 3 as 4, 0), "badConfigAccess"],
    ["MSI register on a classic device", (d) => d.read32("MsiControl"), "noMsi"],
    ["notify before DRIVER_OK", (d) => d.notify(0), "badNotify"],
  ])("%s -> errors.%s, returns 0, throws nothing", (_n, act, kind) => {
    const { d, e, t } = driver();
    const before = t.state();
    act(d);
    expect(e[kind]).toBe(1);
    expect(t.state()).toEqual(before);
    expect(t.counters.internalError).toBe(0);
  });

  it("reads that fail return 0", () => {
    const { t } = driver();
    expect(t.read(REG.MagicValue, 1)).toBe(0);
    expect(t.read(0x1000, 4)).toBe(0);
  });

  it("config accesses of 1, 2 and 4 bytes at aligned offsets work", () => {
    const { d, device } = driver();
    d.transport.write(REG.Config, 4, 0x04030201);
    expect(Array.from(device.config.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(d.transport.read(REG.Config + 2, 2)).toBe(0x0403);
    expect(d.transport.read(REG.Config + 3, 1)).toBe(4);
    expect(d.transport.counters.reads.Config).toBe(2);
  });

  it("notify of an out-of-range or unready queue is counted", () => {
    const { d, e, device } = driver({ queues: [16, 16] });
    d.init({ queueSizes: [16, 0] });
    d.notify(1);
    d.notify(2);
    d.notify(0xffffffff);
    d.runTasks();
    expect(e.badNotify).toBe(3);
    expect(device.counters.notifies).toBe(0);
  });
});

describe("MmioTransport: DEVICE_NEEDS_RESET", () => {
  it("a broken queue sets NEEDS_RESET and sends a config interrupt", () => {
    const { d, e, t } = driver();
    d.init();
    d.setAvailIdx(0, 100);
    d.kick(0);
    expect(d.read32("Status") & DEVICE_NEEDS_RESET).toBe(DEVICE_NEEDS_RESET);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(e.queueBroken).toBe(1);
    expect(t.state().lastError).toContain("availIdx");
    expect(t.state().queues[0]!.live!.counters.errors.availIdx).toBe(1);
    // The driver's read-modify-write keeps working, and a reset recovers.
    d.addStatus(FAILED);
    expect(e.badStatus).toBe(0);
    expect(d.init().ok).toBe(true);
    d.addChain(0, { readable: [bytes(7)], writable: [1] });
    expect(d.kick(0)).toHaveLength(1);
  });

  it("a failed activation sets NEEDS_RESET and raises a config interrupt", () => {
    const device = new EchoDevice({ failActivate: "no backend" });
    const d = new TestDriver({ device });
    d.init();
    expect(d.read32("Status") & DEVICE_NEEDS_RESET).toBe(DEVICE_NEEDS_RESET);
    expect(d.lineEvents).toEqual(["raise"]);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(d.transport.counters.errors.activateFailed).toBe(1);
    expect(d.transport.state().lastError).toBe("activate: no backend");
  });
});

describe("MmioTransport: a device that throws", () => {
  it("is counted and never escapes read/write/notify processing", () => {
    const device = new EchoDevice();
    const boom = (): never => {
      throw new Error("device bug");
    };
    Object.assign(device, { readConfig: boom, writeConfig: boom, notify: boom, activate: boom, reset: boom });
    const d = new TestDriver({ device });
    expect(() => d.init()).not.toThrow();
    expect(d.read32("Status") & DEVICE_NEEDS_RESET).toBe(DEVICE_NEEDS_RESET);
    expect(d.transport.read(REG.Config, 4)).toBe(0);
    d.transport.write(REG.Config, 4, 1);
    d.notify(0);
    expect(() => d.runTasks()).not.toThrow();
    expect(d.transport.counters.deviceThrew).toBe(4); // reset, activate, readConfig, writeConfig (notify: not active)
  });
});

describe("MmioTransport: a device whose notify throws", () => {
  it("is counted and later notifies still run", () => {
    const device = new EchoDevice();
    let fail = true;
    const notify = device.notify.bind(device);
    device.notify = (i) => {
      if (fail) throw new Error("device bug");
      notify(i);
    };
    const d = new TestDriver({ device });
    d.init();
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    expect(() => d.kick(0)).not.toThrow();
    expect(d.transport.counters.deviceThrew).toBe(1);
    fail = false;
    expect(d.kick(0)).toHaveLength(1);
  });
});

describe("MmioTransport: reset", () => {
  it("clears status, features, queues, interrupts, MSI and pending work", () => {
    const { d, t, device } = driver({ msi: { layout: "2020" as const, vectors: 2, sharing: false } });
    d.init();
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.notify(0); // pending, not yet run
    const ctx = device.ctx as ActivationContext;
    d.write32("MsiVecSel", 1);
    d.write32("MsiCmd", MSI_CMD.MASK);
    expect(d.lineHigh).toBe(true);
    d.write32("Status", 0);
    expect(device.counters.resets).toBe(2);
    expect(d.lineHigh).toBe(false);
    const s = t.state();
    expect(s).toMatchObject({ status: 0, driverFeatures: 0n, interruptStatus: 0, active: false, interruptMode: "line" });
    expect(s.queues[0]).toMatchObject({ ready: false, size: 16, desc: 0, live: null });
    expect(s.msi!.vectors[1]!.masked).toBe(false);
    // Work from before the reset does nothing, and a stale handle cannot write or interrupt.
    const notifies = device.counters.notifies;
    d.runTasks();
    expect(device.counters.notifies).toBe(notifies);
    const ram = d.ram.slice();
    ctx.queues[0]!.push({ head: 0, readable: [], writable: [], readableLength: 0, writableLength: 0 }, 0);
    ctx.interrupts.queue(0);
    ctx.interrupts.config();
    expect(d.ram).toEqual(ram);
    expect(d.lineEvents.at(-1)).toBe("lower");
    expect(d.read32("InterruptStatus")).toBe(0);
  });
});

describe("MmioTransport: MSI", () => {
  it("fixed mapping: queue i on vector 1 + i, config on vector 0, InterruptStatus untouched", () => {
    const { d, t, e, device } = driver({ queues: [16, 16], msi: { layout: "2020" as const, vectors: 3, sharing: false } });
    expect(d.read32("MsiVecNum")).toBe(3);
    expect(d.read32("MsiState")).toBe(0);
    expect(d.init({ msi: "fixed" }).ok).toBe(true);
    expect(d.read32("MsiState") >>> 31).toBe(1);
    d.addChain(1, { readable: [bytes(1)], writable: [1] });
    d.kick(1);
    device.changeConfig(0, 1);
    expect(d.msiWrites).toEqual([
      { addr: TEST_MSI_ADDR, data: testMsiData(2) },
      { addr: TEST_MSI_ADDR, data: testMsiData(0) },
    ]);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.lineEvents).toEqual([]);
    d.write32("InterruptACK", 1);
    expect(e.ackWhileMsi).toBe(1);
    expect(t.state().interruptMode).toBe("msi");
    expect(t.counters.interrupts.msi).toBe(2);
    expect(t.msi!.counters.vectors[2]!.delivered).toBe(1);
  });

  it("shared mapping through MAP_CONFIG / MAP_QUEUE with QueueSel", () => {
    const { d } = driver({ queues: [16, 16], msi: MSI2 });
    expect(d.read32("MsiState") >>> 30).toBe(1);
    d.init({ msi: "shared" });
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    d.addChain(1, { readable: [bytes(1)], writable: [1] });
    d.kick(1);
    expect(d.msiWrites.map((w) => w.data)).toEqual([testMsiData(1), testMsiData(1)]);
    expect(d.transport.state().msi).toMatchObject({ configVector: 0, queueVectors: [1, 1] });
  });

  it("MASK holds a message, UNMASK sends it", () => {
    const { d } = driver({ msi: MSI2 });
    d.init({ msi: "shared" });
    d.msiCommand(MSI_CMD.MASK, 1);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.msiWrites).toEqual([]);
    expect(d.transport.state().msi!.vectors[1]!.pending).toBe(true);
    d.msiCommand(MSI_CMD.UNMASK, 1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(1) }]);
    expect(d.transport.state().msi!.vectors[1]!.pending).toBe(false);
  });

  it("ENABLE without the negotiated feature is counted and ignored", () => {
    const { d, e } = driver({ msi: MSI2 });
    d.init(); // driver did not accept MMIO_MSI
    d.msiCommand(MSI_CMD.ENABLE);
    expect(e.msiWithoutFeature).toBe(1);
    expect(d.read32("MsiState") >>> 31).toBe(0);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.lineEvents).toEqual(["raise"]);
  });

  it("DISABLE goes back to the line: a message held by a mask is in InterruptStatus, the line asserted", () => {
    const { d, device } = driver({ msi: MSI2 });
    d.init({ msi: "shared" });
    d.msiCommand(MSI_CMD.MASK, 1);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.msiWrites).toEqual([]);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineEvents).toEqual(["raise"]);
    device.changeConfig(0, 1); // the line is high already: the bit joins InterruptStatus
    expect(d.lineEvents).toEqual(["raise"]);
    expect(d.handleLineInterrupt()).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    expect(d.lineHigh).toBe(false);
  });

  it("out-of-range MsiVecSel and unknown MsiCmd through registers are counted, never thrown", () => {
    const { d, t } = driver({ msi: MSI2 });
    d.init({ msi: "shared" });
    const before = t.state().msi;
    d.configureVector(2, TEST_MSI_ADDR, 0x99);
    d.msiCommand(MSI_CMD.MASK, 7);
    d.msiCommand(0x42);
    d.msiCommand(0);
    expect(t.msi!.counters).toMatchObject({ badVector: 2, badCommand: 2 });
    expect(t.state().msi!.vectors).toEqual(before!.vectors);
  });

  it("a vector whose address high word is non-zero is counted and holds the event", () => {
    const { d, t } = driver({ msi: MSI2 });
    d.init({ msi: "shared" });
    d.configureVector(1, TEST_MSI_ADDR, 0x41, 1);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.msiWrites).toEqual([]);
    expect(t.msi!.counters.addrHighNonZero).toBe(1);
    expect(t.state().msi!.vectors[1]!.pending).toBe(true);
    d.configureVector(1, TEST_MSI_ADDR, 0x41);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: 0x41 }]);
  });

  it("the state snapshot shows vectors, mapping and mode", () => {
    const { d, t } = driver({ msi: MSI2 });
    d.init({ msi: "shared" });
    const s = t.state();
    expect(s.msi!.vectors[0]).toEqual({ addrLow: TEST_MSI_ADDR, addrHigh: 0, data: 0x40, masked: false, pending: false });
    expect(s.offeredFeatures & FEATURE.MMIO_MSI_2020).toBe(FEATURE.MMIO_MSI_2020);
    expect(s.negotiatedFeatures & FEATURE.MMIO_MSI_2020).toBe(FEATURE.MMIO_MSI_2020);
    expect(s.msiLayout).toBe("2020");
    expect(s.ringReset).toBe(false);
  });

  it("refuses a fixed-mapping table too small for the queues at construction", () => {
    const device = new EchoDevice({ queues: [8, 8] });
    const memory = new RamMemory(new Uint8Array(64));
    const line = { raise() {}, lower() {} };
    expect(
      () => new MmioTransport({ device, memory, line, schedule: () => {}, msi: { layout: "2020" as const, vectors: 2, sharing: false } }),
    ).toThrow(RangeError);
  });
});

describe("MmioTransport: no event lost across MASK / DISABLE / ENABLE (docs/virtio-mmio-msi.md)", () => {
  // Everything through the registers, as the guest does it.
  const setup = () => {
    const r = driver({ queues: [16, 16], msi: { layout: "2020" as const, vectors: 3, sharing: false } });
    expect(r.d.init({ msi: "fixed" }).ok).toBe(true);
    return r;
  };
  const complete = (d: TestDriver, q: number) => {
    d.addChain(q, { readable: [bytes(1)], writable: [1] });
    expect(d.kick(q)).toHaveLength(1);
  };

  it("MASK 1, completion on queue 0, DISABLE, ENABLE, UNMASK 1: the held completion is delivered", () => {
    const { d, t } = setup();
    d.msiCommand(MSI_CMD.MASK, 1);
    complete(d, 0);
    expect(t.state().msi!.vectors[1]!.pending).toBe(true);
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineHigh).toBe(true); // on the line now, and asserted
    d.msiCommand(MSI_CMD.ENABLE);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.lineHigh).toBe(false);
    expect(t.state().msi!.vectors[1]).toMatchObject({ masked: true, pending: true });
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.UNMASK, 1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(1) }]);
    expect(t.state().msi!.vectors[1]!.pending).toBe(false);
    expect(d.lineEvents).toEqual(["raise", "lower"]);
    // Nothing is owed any more: no second message, nothing on the line.
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.lineEvents).toEqual(["raise", "lower"]);
  });

  it("DISABLE alone asserts the line for a held completion; the ACK ends it", () => {
    const { d } = setup();
    d.msiCommand(MSI_CMD.MASK, 2);
    complete(d, 1);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.lineEvents).toEqual(["raise"]);
    expect(d.handleLineInterrupt()).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineHigh).toBe(false);
    expect(d.read32("InterruptStatus")).toBe(0);
  });

  it("ENABLE sends at once what the line still showed unacknowledged", () => {
    const { d, device } = setup();
    d.msiCommand(MSI_CMD.DISABLE);
    complete(d, 1);
    device.changeConfig(0, 9);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    d.msiCommand(MSI_CMD.ENABLE);
    expect(d.msiWrites.map((w) => w.data).sort()).toEqual([testMsiData(0), testMsiData(2)]);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.lineHigh).toBe(false);
  });

  it("an event on a vector whose address is 0 (Linux's teardown) waits for the vector to be set up again", () => {
    const { d, t } = setup();
    d.msiCommand(MSI_CMD.MASK, 1);
    d.configureVector(1, 0, 0);
    complete(d, 0);
    d.msiCommand(MSI_CMD.UNMASK, 1);
    expect(d.msiWrites).toEqual([]);
    expect(t.state().msi!.vectors[1]!.pending).toBe(true);
    d.configureVector(1, TEST_MSI_ADDR, testMsiData(1));
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(1) }]);
  });

  it("reset forgets held events: nothing pending, the line low, no message after the next probe", () => {
    const { d, t } = setup();
    d.msiCommand(MSI_CMD.MASK, 1);
    complete(d, 0);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.lineHigh).toBe(true);
    d.reset();
    expect(d.lineHigh).toBe(false);
    expect(t.state().msi!.vectors.every((v) => !v.pending && !v.masked)).toBe(true);
    d.init({ msi: "fixed" });
    expect(d.msiWrites).toEqual([]);
    expect(d.lineEvents).toEqual(["raise", "lower"]);
  });

  it("every command but ENABLE works before bit 40 is negotiated", () => {
    const { d, t, e } = driver({ queues: [16, 16], msi: { layout: "2020" as const, vectors: 3, sharing: false } });
    d.reset();
    d.addStatus(ACK | DRIVER);
    d.configureVector(2, TEST_MSI_ADDR, 0x52);
    d.msiCommand(MSI_CMD.MASK, 2);
    d.msiCommand(MSI_CMD.ENABLE);
    expect(e.msiWithoutFeature).toBe(1);
    expect(t.state().msi).toMatchObject({ enabled: false });
    expect(t.state().msi!.vectors[2]).toMatchObject({ addrLow: TEST_MSI_ADDR, data: 0x52, masked: true });
    d.msiCommand(MSI_CMD.UNMASK, 2);
    expect(t.state().msi!.vectors[2]!.masked).toBe(false);
    expect(t.msi!.counters.badCommand + t.msi!.counters.badVector).toBe(0);
  });
});

describe("MmioTransport: random operations", () => {
  /** mulberry32: small, seeded, good enough to pick operations. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it.each([1, 2, 3, 42])("seed %s: 5000 operations, nothing thrown, nothing outside RAM touched", (seed) => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const RAM = 1 << 18;
    const backing = new Uint8Array(RAM + 4096);
    const ram = backing.subarray(0, RAM);
    const dv = new DataView(ram.buffer, 0, RAM);
    const busWrites: number[] = [];
    const device = new EchoDevice({ queues: [8, 4] });
    const sharing = seed % 2 === 0;
    const d = new TestDriver({ device, ram, msi: { layout: "2020" as const, vectors: 3, sharing }, busWrite: (a) => (busWrites.push(a), a >= 0xfee00000) });
    const t = d.transport;
    const regs = Object.values(REG);
    const values = [0, 1, 2, 3, 4, 7, 8, 0x10, 0x40, 0x80, 0x1000, 0x2000, 0x3000, 0xfee00000, 0xffffffff, 0x7fffffff];
    const randomValue = (): number => (rnd() < 0.5 ? pick(values) : Math.floor(rnd() * 2 ** 32));
    const statuses = [0, ACK, ACK | DRIVER, ACK | DRIVER | FEATURES_OK, ACK | DRIVER | FEATURES_OK | DRIVER_OK, FAILED];
    for (let i = 0; i < 5000; i++) {
      const r = rnd();
      const q = d.queues[rnd() < 0.7 ? 0 : 1];
      if (r < 0.02) {
        // A well-behaved probe: the hostile operations below then hit a live device.
        d.init({ msi: pick(["none", "none", sharing ? "shared" : "fixed"] as const) });
      } else if (r < 0.3) {
        if (q && q.free.length >= 3) {
          const spec = { readable: [new Uint8Array(1 + Math.floor(rnd() * 64))], writable: [1 + Math.floor(rnd() * 64)] };
          d.addChain(q.index, spec, { indirect: rnd() < 0.5 });
        }
      } else if (r < 0.45) {
        if (q) d.kick(q.index);
      } else if (r < 0.6) {
        // The guest scribbles over its rings, tables and anything else.
        const targets = q ? [q.desc + 16 * Math.floor(rnd() * 2 * q.size), q.avail, q.avail + 2, q.used + 2] : [];
        const at = pick([...targets, Math.floor(rnd() * RAM)]);
        if (at + 4 <= RAM) dv.setUint32(at, randomValue(), true);
      } else if (r < 0.8) {
        const off = rnd() < 0.9 ? pick(regs) : Math.floor(rnd() * 0x240) - 0x20;
        const width = rnd() < 0.85 ? 4 : pick([1, 2] as const);
        t.write(off, width, off === REG.Status && rnd() < 0.7 ? pick(statuses) : randomValue());
      } else if (r < 0.9) {
        t.read(rnd() < 0.9 ? pick(regs) : Math.floor(rnd() * 0x240), pick([1, 2, 4, 4, 4] as const));
      } else if (r < 0.93) {
        device.ctx?.interrupts.config();
      } else if (r < 0.96) {
        d.handleLineInterrupt();
      } else {
        d.runTasks();
      }
    }
    d.runTasks();
    expect(backing.subarray(RAM).every((b) => b === 0)).toBe(true);
    expect(busWrites.every((a) => a >= RAM)).toBe(true);
    expect(t.counters.internalError).toBe(0);
    expect(t.counters.deviceThrew).toBe(0);
    // The walk reached the interesting states, not only the register checks.
    expect(device.counters.activations).toBeGreaterThan(10);
    expect(device.counters.chains).toBeGreaterThan(50);
  });
});
