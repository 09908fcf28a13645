import { describe, expect, it } from "vitest";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery, type InterruptCounters } from "./interrupt-delivery.ts";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";

const ADDR = 0xfee00000;

function rig(o: { msi?: boolean } = {}) {
  const edges: string[] = [];
  const writes: { addr: number; data: number }[] = [];
  const memory = new RamMemory(new Uint8Array(4096), {
    busWrite: (addr, data) => (writes.push({ addr, data }), true),
  });
  const record = new EventRecord(1);
  const msi = o.msi ? new MsiTable({ vectors: 2, sharing: false, queues: 1, memory, record }) : null;
  const counters: InterruptCounters = { lineRaised: 0, usedBuffer: 0, perQueue: [0], config: 0, msi: 0 };
  const errors = { ackWhileMsi: 0 };
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    msi, record, counters, errors,
  });
  const q0 = record.queue(0)!;
  const cmd = (c: number, vector = 0) => {
    msi!.selectVector(vector);
    irq.msiCommand(c, 0);
  };
  const configure = (vector: number, addr: number, data: number) => {
    msi!.stage("addrLow", addr);
    msi!.stage("data", data);
    cmd(MSI_CMD.CONFIGURE, vector);
  };
  return { irq, edges, writes, msi, counters, errors, q0, record, cmd, configure };
}

describe("InterruptDelivery on the line", () => {
  it("an event sets InterruptStatus and raises the line once; ACK clears and lowers", () => {
    const r = rig();
    r.irq.event(r.q0);
    r.irq.event(CONFIG_CHANGE);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise"]);
    r.irq.ack(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.counters).toEqual({ lineRaised: 1, usedBuffer: 1, perQueue: [1], config: 1, msi: 0 });
  });

  it("an ACK that leaves a bit pulses the line (a fresh edge); one that clears nothing leaves it alone", () => {
    const r = rig();
    r.irq.event(r.q0);
    r.irq.event(CONFIG_CHANGE);
    r.irq.ack(INTERRUPT.USED_BUFFER);
    expect(r.edges).toEqual(["raise", "lower", "raise"]);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.CONFIG_CHANGE);
    r.irq.ack(INTERRUPT.USED_BUFFER);
    expect(r.edges).toHaveLength(3);
    r.irq.ack(INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise", "lower", "raise", "lower"]);
    expect(r.irq.lineHigh).toBe(false);
  });

  it("reset forgets every event and lowers the line", () => {
    const r = rig();
    r.irq.event(r.q0);
    r.irq.reset();
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.irq.interruptStatus).toBe(0);
    expect(r.record.size).toBe(0);
  });

  it("an event for a queue the device does not have is ignored", () => {
    const r = rig();
    r.irq.event({ kind: "queue", queue: 5 });
    expect(r.edges).toEqual([]);
    expect(r.counters.usedBuffer).toBe(0);
  });
});

describe("InterruptDelivery with MSI", () => {
  it("ENABLE turns an unacknowledged line event into a message at once and lowers the line", () => {
    const r = rig({ msi: true });
    r.irq.event(r.q0);
    expect(r.edges).toEqual(["raise"]);
    r.configure(1, ADDR, 0x41);
    r.cmd(MSI_CMD.ENABLE);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.writes).toEqual([{ addr: ADDR, data: 0x41 }]);
    expect(r.irq.interruptStatus).toBe(0);
    r.irq.event(r.q0);
    expect(r.writes).toHaveLength(2);
    r.irq.ack(1);
    expect(r.errors.ackWhileMsi).toBe(1);
    expect(r.irq.msiOn).toBe(true);
    expect(r.counters.msi).toBe(1);
  });

  it("DISABLE shows a held event in InterruptStatus and asserts the line at once", () => {
    const r = rig({ msi: true });
    r.cmd(MSI_CMD.ENABLE);
    r.cmd(MSI_CMD.MASK, 0);
    r.irq.event(CONFIG_CHANGE);
    expect(r.msi!.pending(0)).toBe(true);
    r.cmd(MSI_CMD.DISABLE);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise"]);
    expect(r.msi!.pending(0)).toBe(false);
  });

  it("MASK, event, DISABLE, ENABLE, UNMASK: the held event is sent (issue 14)", () => {
    const r = rig({ msi: true });
    r.configure(1, ADDR, 0x41);
    r.cmd(MSI_CMD.ENABLE);
    r.cmd(MSI_CMD.MASK, 1);
    r.irq.event(r.q0);
    r.cmd(MSI_CMD.DISABLE);
    r.cmd(MSI_CMD.ENABLE);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.irq.interruptStatus).toBe(0);
    expect(r.msi!.pending(1)).toBe(true);
    expect(r.writes).toEqual([]);
    r.cmd(MSI_CMD.UNMASK, 1);
    expect(r.writes).toEqual([{ addr: ADDR, data: 0x41 }]);
    expect(r.record.size).toBe(0);
  });

  it("reset also resets the MSI table", () => {
    const r = rig({ msi: true });
    r.cmd(MSI_CMD.ENABLE);
    r.irq.reset();
    expect(r.irq.msiOn).toBe(false);
    expect(r.msi!.enabled).toBe(false);
  });
});
