// The per-queue MSI mode through the transport's registers, as a guest drives it
// (docs/virtio-mmio-msi.md, "The per-queue mode").

import { describe, expect, it } from "vitest";
import { FEATURE, INTERRUPT, MSI_CMD, MSI_PQ_CMD, MSI_PQ_STATUS, MSI_STATE, REG } from "./constants.ts";
import type { MmioMsiOptions } from "./mmio-transport.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TEST_MSI_ADDR, TestDriver, testMsiData, testPqData } from "../testing/test-driver.ts";

const PQ: MmioMsiOptions = { vectors: 3, sharing: false, perQueue: true };
const TABLE_ONLY: MmioMsiOptions = { vectors: 3, sharing: false };
const PQ_REGS = [REG.MsiPqHint, REG.MsiPqSel, REG.MsiPqAddrLow, REG.MsiPqAddrHigh, REG.MsiPqData, REG.MsiPqCmd, REG.MsiPqStatus];
const ENABLED = MSI_STATE.ENABLED >>> 0;
const PER_QUEUE = (MSI_STATE.ENABLED | MSI_STATE.PER_QUEUE) >>> 0;

function driver(msi: MmioMsiOptions | false = PQ) {
  const device = new EchoDevice({ queues: [16, 16] });
  const d = new TestDriver({ device, ramSize: 1 << 20, msi });
  return { d, device, t: d.transport, e: d.transport.counters.errors };
}

const complete = (d: TestDriver, q: number) => {
  d.addChain(q, { readable: [new Uint8Array([1])], writable: [1] });
  expect(d.kick(q)).toHaveLength(1);
};

describe("MmioTransport per-queue mode: which devices have it", () => {
  it.each([
    ["a table-only device", TABLE_ONLY],
    ["a device without MSI", false as const],
  ])("on %s the registers are unknown offsets, as before: reads 0, badOffset, no access counted", (_n, msi) => {
    const { d, t, e } = driver(msi);
    d.init();
    for (const off of PQ_REGS) {
      expect(d.read32(off)).toBe(0);
      d.write32(off, 1);
    }
    expect(e.badOffset).toBe(2 * PQ_REGS.length);
    expect(e.readWriteOnly + e.writeReadOnly + e.noMsi).toBe(0);
    expect(t.counters.reads.MsiPqHint + t.counters.writes.MsiPqCmd).toBe(0);
    expect(t.state().msiPerQueue).toBeNull();
    expect(t.msiPerQueue).toBeNull();
  });

  it("on a table-only device MsiCmd 8 is an unknown command, whatever was negotiated", () => {
    const { d, t, e } = driver(TABLE_ONLY);
    d.init({ msi: "fixed" });
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    expect(t.msi!.counters.badCommand).toBe(1);
    expect(e.msiWithoutFeature).toBe(0);
    expect(d.read32("MsiState")).toBe(ENABLED);
    expect(t.state().msiMode).toBe("table");
  });

  it("a device offering the mode still offers the table unchanged", () => {
    const { d, t } = driver();
    expect(d.read32("MsiVecNum")).toBe(3);
    expect(d.read32("MsiPqHint")).toBe(3);
    expect(d.read32("MsiState")).toBe(0);
    d.init({ msi: "fixed" });
    complete(d, 1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(2) }]);
    expect(d.read32("MsiState")).toBe(ENABLED);
    expect(t.state()).toMatchObject({ interruptMode: "msi", msiMode: "table" });
  });

  it("MsiPqHint is the host's choice", () => {
    const { d } = driver({ ...PQ, pairsHint: 1 });
    expect(d.read32("MsiPqHint")).toBe(1);
    expect(() => driver({ ...PQ, pairsHint: 0 })).toThrow(RangeError);
  });

  it("the read-only and write-only registers are enforced like the table's", () => {
    const { d, e } = driver();
    d.write32("MsiPqHint", 5);
    d.write32("MsiPqStatus", 5);
    expect(d.read32("MsiPqSel")).toBe(0);
    expect(d.read32("MsiPqCmd")).toBe(0);
    expect(e).toMatchObject({ writeReadOnly: 2, readWriteOnly: 2, badOffset: 0 });
    expect(d.read32("MsiPqHint")).toBe(3);
  });
});

describe("MmioTransport per-queue mode: enabling", () => {
  it("ENABLE_PER_QUEUE before FEATURES_OK, or without bit 40 accepted, is refused", () => {
    const { d, e, t } = driver();
    d.setTarget(1, TEST_MSI_ADDR, 0x41); // the target commands work at any time
    d.pqCommand(MSI_PQ_CMD.TARGET_ENABLE);
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    expect(e.msiWithoutFeature).toBe(1);
    d.init(); // without MMIO_MSI
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    expect(e.msiWithoutFeature).toBe(2);
    expect(d.read32("MsiState")).toBe(0);
    complete(d, 0);
    expect(d.lineEvents).toEqual(["raise"]);
    expect(t.state().msiMode).toBeNull();
  });

  it("the driver's set-up: every target its own message; MsiState bits 31 and 29", () => {
    const { d, t, device } = driver();
    expect(d.init({ msi: "per-queue" }).ok).toBe(true);
    expect(d.read32("MsiState")).toBe(PER_QUEUE);
    complete(d, 1);
    complete(d, 0);
    device.changeConfig(0, 1);
    expect(d.msiWrites.map((w) => w.data)).toEqual([testPqData(2), testPqData(1), testPqData(0)]);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.lineEvents).toEqual([]);
    const s = t.state();
    expect(s).toMatchObject({ interruptMode: "msi", msiMode: "per-queue" });
    expect(s.msiPerQueue!.targets[2]).toEqual({ addrLow: TEST_MSI_ADDR, addrHigh: 0, data: testPqData(2), masked: false, enabled: true, pending: false });
    expect(t.msiPerQueue!.counters.targets.map((c) => c.delivered)).toEqual([1, 1, 1]);
    expect(t.msi!.counters.vectors.map((c) => c.sent)).toEqual([0, 0, 0]);
    expect(t.counters.interrupts.msi).toBe(3);
  });

  it("MsiPqStatus reads the selected target, pending only while the mode is on", () => {
    const { d } = driver();
    d.init({ msi: "per-queue" });
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    complete(d, 0);
    expect(d.read32("MsiPqStatus")).toBe(MSI_PQ_STATUS.ENABLED | MSI_PQ_STATUS.MASKED | MSI_PQ_STATUS.PENDING);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.read32("MsiPqStatus")).toBe(MSI_PQ_STATUS.ENABLED | MSI_PQ_STATUS.MASKED);
    d.write32("MsiPqSel", 2);
    expect(d.read32("MsiPqStatus")).toBe(0);
  });

  it("ACK while the per-queue mode is on is counted and ignored", () => {
    const { d, e } = driver();
    d.init({ msi: "per-queue" });
    d.write32("InterruptACK", INTERRUPT.USED_BUFFER);
    expect(e.ackWhileMsi).toBe(1);
  });

  it("reset puts the mode and every target back to power-on", () => {
    const { d, t } = driver();
    const fresh = t.state().msiPerQueue;
    d.init({ msi: "per-queue" });
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    complete(d, 0);
    d.write32("Status", 0);
    expect(t.state().msiPerQueue).toEqual(fresh);
    expect(d.read32("MsiState")).toBe(0);
    expect(t.state().msiMode).toBeNull();
  });
});

describe("MmioTransport per-queue mode: no event lost across mode switches", () => {
  it("MASK target, completion on queue 0, DISABLE, ENABLE_PER_QUEUE, UNMASK: exactly one message", () => {
    const { d, t } = driver();
    d.init({ msi: "per-queue" });
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    complete(d, 0);
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    expect(d.lineHigh).toBe(true);
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    expect(d.lineHigh).toBe(false);
    expect(d.read32("InterruptStatus")).toBe(0);
    expect(d.msiWrites).toEqual([]);
    d.pqCommand(MSI_PQ_CMD.UNMASK, 1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(1) }]);
    expect(d.lineEvents).toEqual(["raise", "lower"]);
    d.msiCommand(MSI_CMD.DISABLE); // nothing owed: nothing on the line
    expect(d.lineEvents).toEqual(["raise", "lower"]);
    expect(t.msiPerQueue!.counters.targets[1]!.sent).toBe(1);
  });

  it("table -> per-queue with events held on masked vectors: they go out on their targets", () => {
    const { d, device } = driver();
    d.init({ msi: "fixed" });
    for (let t = 0; t < 3; t++) {
      d.setTarget(t, TEST_MSI_ADDR, 0x50 + t);
      d.pqCommand(MSI_PQ_CMD.TARGET_ENABLE);
    }
    d.msiCommand(MSI_CMD.MASK, 1);
    d.msiCommand(MSI_CMD.MASK, 0);
    complete(d, 0);
    device.changeConfig(0, 1);
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    expect(d.msiWrites.map((w) => w.data).sort()).toEqual([0x50, 0x51]);
    expect(d.read32("MsiState")).toBe(PER_QUEUE);
    d.msiCommand(MSI_CMD.UNMASK, 1); // the table is off: its unmask sends nothing
    expect(d.msiWrites).toHaveLength(2);
  });

  it("per-queue -> table with events held on disabled targets: they go out on their vectors", () => {
    const { d } = driver();
    d.init({ msi: "per-queue" });
    d.configureVector(0, TEST_MSI_ADDR, 0x60);
    d.configureVector(1, TEST_MSI_ADDR, 0x61);
    d.configureVector(2, TEST_MSI_ADDR, 0x62);
    d.pqCommand(MSI_PQ_CMD.TARGET_DISABLE, 2);
    complete(d, 1);
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.ENABLE);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: 0x62 }]);
    expect(d.read32("MsiState")).toBe(ENABLED);
    d.pqCommand(MSI_PQ_CMD.TARGET_ENABLE, 2); // the mode is off: nothing more
    expect(d.msiWrites).toHaveLength(1);
  });

  it("an event held in one mode, then both modes held, then the line: one ACK, nothing lost", () => {
    const { d } = driver();
    d.init({ msi: "per-queue" });
    d.pqCommand(MSI_PQ_CMD.MASK, 2);
    d.msiCommand(MSI_CMD.MASK, 2);
    complete(d, 1);
    d.msiCommand(MSI_CMD.ENABLE);
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    d.msiCommand(MSI_CMD.ENABLE);
    expect(d.msiWrites).toEqual([]);
    d.msiCommand(MSI_CMD.DISABLE);
    expect(d.lineHigh).toBe(true);
    expect(d.handleLineInterrupt()).toBe(INTERRUPT.USED_BUFFER);
    d.msiCommand(MSI_CMD.ENABLE_PER_QUEUE);
    d.pqCommand(MSI_PQ_CMD.UNMASK, 2);
    expect(d.msiWrites).toEqual([]); // acknowledged on the line: spent
  });

  it("the table's staging and the mode's staging are separate", () => {
    const { d, t } = driver();
    d.write32("MsiAddrLow", 0x1234);
    d.write32("MsiPqAddrLow", TEST_MSI_ADDR);
    expect(t.state().msi!.staged.addrLow).toBe(0x1234);
    expect(t.state().msiPerQueue!.staged.addrLow).toBe(TEST_MSI_ADDR);
    expect(FEATURE.MMIO_MSI & d.offeredFeatures()).toBe(FEATURE.MMIO_MSI);
  });
});
