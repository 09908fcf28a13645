// The v3 MSI layout and QueueReset through the whole window, as a driver sees them
// (docs/virtio-mmio-msi-v3.md; tests name the statements D1..D12 they check).
import { describe, expect, it } from "vitest";
import { FEATURE, INTERRUPT, MSI_CONTROL, MSI_TARGET_CONTROL, REG, STATUS } from "./constants.ts";
import { MmioTransport, type MmioMsiOptions } from "./mmio-transport.ts";
import { RamMemory } from "./ram-memory.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TEST_MSI_ADDR, TestDriver, testPqData } from "../testing/test-driver.ts";

const { ENABLE, MASK, PENDING } = MSI_TARGET_CONTROL;
const bytes = (...b: number[]) => new Uint8Array(b);

function driver(o: { queues?: number[]; msi?: MmioMsiOptions; ringReset?: boolean } = {}) {
  const device = new EchoDevice({ queues: o.queues ?? [16, 16] });
  const d = new TestDriver({ device, ramSize: 1 << 20, msi: o.msi ?? { layout: "v3" }, ...(o.ringReset === undefined ? {} : { ringReset: o.ringReset }) });
  return { d, device, t: d.transport, e: d.transport.counters.errors };
}

describe("v3 layout: features (D1)", () => {
  it("offers bit 49 and RING_RESET (bit 40) by default, never the 2020 meaning of bit 40", () => {
    const { d, t } = driver();
    const f = d.offeredFeatures();
    expect(FEATURE.MMIO_MSI).toBe(1n << 49n);
    expect(f & FEATURE.MMIO_MSI).toBe(FEATURE.MMIO_MSI);
    expect(f & FEATURE.RING_RESET).toBe(FEATURE.RING_RESET);
    expect(t.state()).toMatchObject({ msiLayout: "v3", ringReset: true });
    expect(t.msi).toBeNull();
  });

  it("the transport's default (no msi option) is the v3 layout with RING_RESET", () => {
    const device = new EchoDevice({ queues: [8] });
    const t = new MmioTransport({ device, memory: new RamMemory(new Uint8Array(4096)), line: { raise() {}, lower() {} }, schedule: () => {} });
    expect(t.offeredFeatures & (FEATURE.MMIO_MSI | FEATURE.RING_RESET)).toBe(FEATURE.MMIO_MSI | FEATURE.RING_RESET);
  });

  it("no MSI still offers RING_RESET; ringReset false takes it away", () => {
    expect(driver({ msi: false }).d.offeredFeatures() & (FEATURE.RING_RESET | FEATURE.MMIO_MSI)).toBe(FEATURE.RING_RESET);
    expect(driver({ ringReset: false }).d.offeredFeatures() & FEATURE.RING_RESET).toBe(0n);
  });

  it("the 2020 layout never comes with RING_RESET: asking for both throws at construction", () => {
    const { d, t } = driver({ msi: { layout: "2020", vectors: 3, sharing: false } });
    expect(d.offeredFeatures() & (FEATURE.MMIO_MSI_2020 | FEATURE.MMIO_MSI)).toBe(FEATURE.MMIO_MSI_2020);
    expect(t.state().ringReset).toBe(false);
    expect(() => driver({ msi: { layout: "2020", vectors: 3, sharing: false }, ringReset: true })).toThrow(/RING_RESET/);
  });

  it("a device without resetQueue/enableQueue is not offered RING_RESET; asking for it throws", () => {
    const echo = new EchoDevice({ queues: [8] });
    const plain = {
      name: "plain", deviceId: 0x7f, features: 0n, queueMaxSizes: [8], configSize: 0, counters: {},
      readConfig: () => 0, writeConfig: () => {}, activate: (c: Parameters<EchoDevice["activate"]>[0]) => echo.activate(c),
      notify: () => {}, reset: () => {},
    };
    const base = { memory: new RamMemory(new Uint8Array(4096)), line: { raise() {}, lower() {} }, schedule: () => {} };
    expect(new MmioTransport({ ...base, device: plain }).offeredFeatures & FEATURE.RING_RESET).toBe(0n);
    expect(() => new MmioTransport({ ...base, device: plain, ringReset: true })).toThrow(/resetQueue/);
  });
});

describe("v3 layout: registers", () => {
  it("MsiVectorHint reads 1 + queues by default, or the hint given (D12); a bad hint throws", () => {
    expect(driver().d.read32("MsiVectorHint")).toBe(3);
    expect(driver({ msi: { layout: "v3", hint: 1 } }).d.read32("MsiVectorHint")).toBe(1);
    expect(() => driver({ msi: { layout: "v3", hint: 4 } })).toThrow(RangeError);
  });

  it("the reserved words read 0; writes to them and to MsiVectorHint change nothing and are counted (D11)", () => {
    const { d, t, e } = driver();
    d.init({ msi: "per-queue" });
    const before = JSON.stringify(t.saveState());
    for (const off of [0x0ec, 0x0f0, 0x0f4, 0x0f8]) {
      expect(d.read32(off)).toBe(0);
      d.write32(off, 0xffffffff);
    }
    d.write32("MsiVectorHint", 1);
    expect(e.writeReadOnly).toBe(5);
    expect(JSON.stringify(t.saveState())).toBe(before);
  });

  it("QueueMsi* with QueueSel past the last queue read 0 and writes are counted (D11)", () => {
    const { d, t, e } = driver();
    d.init({ msi: "per-queue" });
    d.write32("QueueSel", 2);
    expect(d.read32("QueueMsiAddrLow")).toBe(0);
    expect(d.read32("QueueMsiControl")).toBe(0);
    const before = JSON.stringify(t.saveState());
    d.write32("QueueMsiAddrLow", 1);
    d.write32("QueueMsiData", 1);
    d.write32("QueueMsiControl", ENABLE);
    expect(e.badQueueSel).toBe(3);
    expect(JSON.stringify(t.saveState())).toBe(before);
  });

  it("a 16-bit access to a v3 register changes nothing (D11)", () => {
    const { d, t, e } = driver();
    d.init({ msi: "none" });
    t.write(REG.MsiControl, 2, 1);
    expect(e.badWidth).toBe(1);
    expect(d.read32("MsiControl")).toBe(0);
  });

  it("on a device without MSI the v3 offsets are counted as noMsi; QueueReset still exists", () => {
    const { d, e } = driver({ msi: false });
    expect(d.read32("MsiControl")).toBe(0);
    expect(d.read32("QueueMsiData")).toBe(0);
    expect(e.noMsi).toBe(2);
    d.read32("QueueReset");
    expect(e.noMsi + e.badOffset).toBe(2);
  });

  it("reads show the effective pair; the Data write commits the staged address (D7)", () => {
    const { d } = driver();
    d.init({ msi: "none" });
    d.write32("QueueSel", 1);
    d.write32("QueueMsiAddrLow", TEST_MSI_ADDR);
    expect(d.read32("QueueMsiAddrLow")).toBe(0);
    d.write32("QueueMsiData", 0x61);
    expect(d.read32("QueueMsiAddrLow")).toBe(TEST_MSI_ADDR);
    expect(d.read32("QueueMsiData")).toBe(0x61);
    d.write32("QueueSel", 0);
    expect(d.read32("QueueMsiAddrLow")).toBe(0);
  });

  it("MsiControl with a reserved bit changes nothing, counted (D11)", () => {
    const { d, e } = driver();
    d.init({ msi: "per-queue" });
    d.write32("MsiControl", 3);
    expect(e.badMsiControl).toBe(1);
    expect(d.read32("MsiControl")).toBe(MSI_CONTROL.MSI_ENABLE);
  });
});

describe("v3 layout: MSI_ENABLE (D2, D3, D4, D5)", () => {
  it("ignores MSI_ENABLE before FEATURES_OK and without bit 49 accepted (D3)", () => {
    const { d, e } = driver();
    d.write32("MsiControl", 1);
    expect(d.read32("MsiControl")).toBe(0);
    d.init({ msi: "none" });
    d.write32("MsiControl", 1);
    expect(d.read32("MsiControl")).toBe(0);
    expect(e.msiWithoutFeature).toBe(2);
    d.write32("MsiControl", 0);
    expect(e.msiWithoutFeature).toBe(2);
  });

  it("while MSI is on InterruptStatus reads 0, ACK is ignored, the line stays low (D4)", () => {
    const { d, e } = driver();
    d.init({ msi: "per-queue" });
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(1) }]);
    expect(d.read32("InterruptStatus")).toBe(0);
    d.write32("InterruptACK", 1);
    expect(e.ackWhileMsi).toBe(1);
    expect(d.lineEvents).toEqual([]);
  });

  it("events on the line move to their targets at MSI_ENABLE and back, none lost or doubled (D5)", () => {
    const { d, device } = driver();
    d.init({ msi: "per-queue" });
    d.write32("MsiControl", 0);
    d.targetControl(1, ENABLE | MASK);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    device.changeConfig(4, 1);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    d.write32("MsiControl", 1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(0) }]);
    expect(d.readTargetControl(1)).toBe(ENABLE | MASK | PENDING);
    d.write32("MsiControl", 0);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    d.write32("MsiControl", 1);
    d.targetControl(1, ENABLE);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(0) }, { addr: TEST_MSI_ADDR, data: testPqData(1) }]);
  });

  it("device reset: MSI_ENABLE clear, every target at power-on, events forgotten, line low (D2)", () => {
    const { d, t } = driver();
    d.init({ msi: "per-queue" });
    d.targetControl(1, ENABLE | MASK);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    d.write32("Status", 0);
    expect(d.read32("MsiControl")).toBe(0);
    for (const tg of t.state().msiPerQueue!.targets) {
      expect(tg).toEqual({ addrLow: 0, addrHigh: 0, data: 0, masked: false, enabled: false, pending: false, staged: { addrLow: 0, addrHigh: 0 } });
    }
    expect(d.read32("InterruptStatus")).toBe(0);
  });

  it("address 0: the event stays pending until the pair is rewritten (D6, D8)", () => {
    const { d } = driver();
    d.init({ msi: "per-queue" });
    d.setTarget(1, 0, 0x61);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.kick(0);
    expect(d.msiWrites).toEqual([]);
    expect(d.readTargetControl(1) & PENDING).toBe(PENDING);
    d.setTarget(1, TEST_MSI_ADDR, 0x61);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: 0x61 }]);
  });
});

describe("QueueReset (virtio 1.4 §2.6.1, D10)", () => {
  function running(o: { msi?: "per-queue" | "none" } = {}) {
    const r = driver();
    r.d.init({ msi: o.msi ?? "per-queue" });
    return r;
  }

  it("resets the selected queue at once: QueueReset reads 0, QueueReady 0, registers at power-on", () => {
    const { d, t, device } = running();
    expect(d.queueReset(1)).toBe(0);
    expect(d.read32("QueueReady")).toBe(0);
    expect(t.state().queues[1]).toMatchObject({ ready: false, size: 16, desc: 0, driver: 0, device: 0, live: null, reopened: true });
    expect(t.state().queues[0]!.live).not.toBeNull();
    expect(device.counters.queueResets).toBe(1);
    expect(t.counters.queueResets).toBe(1);
  });

  it("is refused (counted, nothing changes) without RING_RESET negotiated, on a queue not enabled, with a value other than 1, past the last queue", () => {
    const { d, t, e } = driver();
    d.init({ msi: "per-queue", features: (f) => f & ~FEATURE.RING_RESET });
    d.write32("QueueSel", 0);
    const before = JSON.stringify(t.saveState());
    d.queueReset(0);
    expect(e.badQueueReset).toBe(1);
    expect(JSON.stringify(t.saveState())).toBe(before);
    const r = running();
    r.d.write32("QueueSel", 0);
    r.d.write32("QueueReset", 2);
    r.d.queueReset(0);
    r.d.queueReset(0); // now not enabled
    r.d.write32("QueueSel", 7);
    r.d.write32("QueueReset", 1);
    expect(r.e.badQueueReset).toBe(2);
    expect(r.e.badQueueSel).toBe(1);
    expect(r.t.counters.queueResets).toBe(1);
  });

  it("returns the queue's target to power-on and leaves the other targets and MSI_ENABLE alone", () => {
    const { d, t } = running();
    d.targetControl(2, ENABLE | MASK);
    d.queueReset(1);
    const s = t.state().msiPerQueue!;
    expect(s.targets[2]).toMatchObject({ addrLow: 0, data: 0, enabled: false, masked: false });
    expect(s.targets[1]).toMatchObject({ addrLow: TEST_MSI_ADDR, data: testPqData(1), enabled: true });
    expect(s.targets[0]).toMatchObject({ addrLow: TEST_MSI_ADDR, data: testPqData(0), enabled: true });
    expect(d.read32("MsiControl")).toBe(1);
  });

  it("an event held on the reset queue is sent neither to the old pair nor the new; another queue's survives", () => {
    const { d, t } = running();
    d.targetControl(1, ENABLE | MASK);
    d.targetControl(2, ENABLE | MASK);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.addChain(1, { readable: [bytes(2)], writable: [1] });
    d.kick(0);
    d.kick(1);
    expect(d.msiWrites).toEqual([]);
    d.queueReset(1);
    expect(t.state().msiPerQueue!.targets[2]!.pending).toBe(false);
    // The driver sets queue 1 up again with its target, as R5 asks.
    d.reenableQueue(1, 16);
    d.setTarget(2, TEST_MSI_ADDR, 0x72);
    d.targetControl(2, ENABLE);
    expect(d.msiWrites).toEqual([]);
    d.targetControl(1, ENABLE);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(1) }]);
    // The re-enabled queue runs on its new ring and signals through its new pair.
    d.addChain(1, { readable: [bytes(3)], writable: [1] });
    expect(d.kick(1)).toHaveLength(1);
    expect(d.msiWrites.at(-1)).toEqual({ addr: TEST_MSI_ADDR, data: 0x72 });
  });

  it("on the line, the reset queue's InterruptStatus bit goes; the configuration bit stays", () => {
    const { d, device } = running({ msi: "none" });
    d.addChain(1, { readable: [bytes(2)], writable: [1] });
    d.kick(1);
    device.changeConfig(4, 2);
    d.queueReset(1);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(d.lineHigh).toBe(true);
    d.write32("InterruptACK", INTERRUPT.CONFIG_CHANGE);
    expect(d.lineHigh).toBe(false);
  });

  it("a notify scheduled for the reset queue does not run; one for the other queue does", () => {
    const { d, device } = running();
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    d.addChain(1, { readable: [bytes(1)], writable: [1] });
    d.notify(0);
    d.notify(1);
    d.queueReset(1);
    d.runTasks();
    expect(device.counters.chains).toBe(1);
    expect(d.takeUsed(0)).toHaveLength(1);
  });

  it("queue registers of a reset queue are writable after DRIVER_OK until it is ready; other queues stay locked", () => {
    const { d, e, t } = running();
    d.queueReset(1);
    d.write32("QueueSel", 0);
    d.write32("QueueNum", 8);
    expect(e.queueLocked).toBe(1);
    d.reenableQueue(1, 8);
    expect(t.state().queues[1]).toMatchObject({ ready: true, size: 8, reopened: false });
    d.write32("QueueSel", 1);
    d.write32("QueueNum", 4);
    expect(e.queueLocked).toBe(2);
  });

  it("before DRIVER_OK a reset only clears the queue's registers", () => {
    const { d, t } = driver();
    d.init({ msi: "none", driverOk: false });
    d.queueReset(0);
    expect(t.state().queues[0]).toMatchObject({ ready: false, reopened: false });
    d.setupQueue(0, 16);
    d.addStatus(STATUS.DRIVER_OK);
    d.addChain(0, { readable: [bytes(1)], writable: [1] });
    expect(d.kick(0)).toHaveLength(1);
  });
});
