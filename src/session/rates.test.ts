import { describe, expect, it } from "vitest";
import { deviceRates, type DeviceSample } from "./rates.ts";

const base: DeviceSample = {
  at: 1000,
  msiSent: [0, 10],
  targetSent: [],
  lineRaised: 4,
  mmio: { "write:QueueNotify": 10, "read:Status": 3 },
  bytesRead: 0,
  bytesWritten: 0,
  completed: 100,
  rxPackets: 5,
  txPackets: 5,
};

describe("device rates", () => {
  it("are zero between a sample and itself", () => {
    const r = deviceRates(base, base);
    expect([r.msi, r.line, r.mmio, r.readMBs, r.iops, r.rxPps]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(r.registers.map((x) => `${x.access}:${x.register}=${x.count}`)).toEqual(["write:QueueNotify=10", "read:Status=3"]);
  });

  it("are per second over the time between samples, by vector and by register", () => {
    const cur: DeviceSample = {
      ...base,
      at: 1500,
      msiSent: [1, 60],
      lineRaised: 4,
      mmio: { "write:QueueNotify": 60, "read:Status": 3, "read:InterruptStatus": 5 },
      bytesRead: 2_000_000,
      bytesWritten: 500_000,
      completed: 150,
      rxPackets: 15,
      txPackets: 6,
    };
    const r = deviceRates(base, cur);
    expect(r.msiPerVector).toEqual([2, 100]);
    expect(r.msi).toBe(102);
    expect(r.line).toBe(0);
    expect(r.mmio).toBe(110);
    expect(r.registers[0]).toEqual({ register: "QueueNotify", access: "write", count: 60, perSecond: 100 });
    expect(r.registers.find((x) => x.register === "InterruptStatus")?.perSecond).toBe(10);
    expect(r.readMBs).toBe(4);
    expect(r.writeMBs).toBe(1);
    expect(r.iops).toBe(100);
    expect([r.rxPps, r.txPps]).toEqual([20, 2]);
  });

  it("count the per-queue mode's targets apart from the table's vectors, and both in the total", () => {
    const pq: DeviceSample = { ...base, targetSent: [0, 30, 4] };
    const r = deviceRates(pq, { ...pq, at: 2000, msiSent: [0, 10], targetSent: [1, 130, 4] });
    expect(r.msiPerTarget).toEqual([1, 100, 0]);
    expect(r.msiPerVector).toEqual([0, 0]);
    expect(r.msi).toBe(101);
  });

  it("never go negative when a device was reset and its counters started again", () => {
    const r = deviceRates({ ...base, completed: 500 }, { ...base, at: 2000, completed: 20 });
    expect(r.iops).toBe(20);
  });
});
