import { describe, expect, it } from "vitest";
import { INTERRUPT, MSI_CMD, MSI_TARGET_CONTROL } from "./constants.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery, type InterruptCounters } from "./interrupt-delivery.ts";
import { MsiPerQueue } from "./msi-per-queue.ts";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";

const ADDR = 0xfee00000;

function rig(o: { msi?: boolean; perQueue?: boolean } = {}) {
  const edges: string[] = [];
  const writes: { addr: number; data: number }[] = [];
  const memory = new RamMemory(new Uint8Array(4096), {
    busWrite: (addr, data) => (writes.push({ addr, data }), true),
  });
  const record = new EventRecord(1);
  const msi = o.msi ? new MsiTable({ vectors: 2, sharing: false, queues: 1, memory, record }) : null;
  const pq = o.perQueue ? new MsiPerQueue({ queues: 1, pairsHint: 2, memory, record }) : null;
  const counters: InterruptCounters = { lineRaised: 0, usedBuffer: 0, perQueue: [0], config: 0, msi: 0 };
  const errors = { ackWhileMsi: 0 };
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    msi, perQueue: pq, record, counters, errors,
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
  /** Target 0 is config, target 1 queue 0: a control-word write, as the register does it. */
  const control = (t: number, value: number) => {
    pq!.writeControl(t, value);
    irq.targetsChanged();
  };
  const target = (t: number, addr: number, data: number) => {
    pq!.writeAddrLow(t, addr);
    pq!.writeAddrHigh(t, 0);
    pq!.writeData(t, data);
    irq.targetsChanged();
    control(t, MSI_TARGET_CONTROL.ENABLE);
  };
  return { irq, edges, writes, msi, pq, counters, errors, q0, record, cmd, configure, control, target };
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

describe("InterruptDelivery with the v3 targets (docs/virtio-mmio-msi-v3.md)", () => {
  it("MSI_ENABLE switches line -> per-queue -> line (D5)", () => {
    const r = rig({ perQueue: true });
    const seen: string[] = [r.irq.mode];
    r.irq.setMsiEnable(true);
    seen.push(r.irq.mode);
    r.irq.setMsiEnable(false);
    seen.push(r.irq.mode);
    expect(seen).toEqual(["line", "per-queue", "line"]);
  });

  it("refuses to be built with both layouts", () => {
    const memory = new RamMemory(new Uint8Array(64));
    const record = new EventRecord(1);
    expect(() => new InterruptDelivery({
      line: { raise() {}, lower() {} },
      msi: new MsiTable({ vectors: 2, sharing: false, queues: 1, memory, record }),
      perQueue: new MsiPerQueue({ queues: 1, pairsHint: 2, memory, record }),
      record, counters: { lineRaised: 0, usedBuffer: 0, perQueue: [0], config: 0, msi: 0 }, errors: { ackWhileMsi: 0 },
    })).toThrow();
  });

  it("an event goes to the line, or to its own target (D4)", () => {
    const r = rig({ perQueue: true });
    r.target(1, ADDR, 0x61);
    r.irq.event(r.q0);
    expect(r.edges).toEqual(["raise"]);
    r.irq.ack(INTERRUPT.USED_BUFFER);
    r.irq.setMsiEnable(true);
    r.irq.event(r.q0);
    expect(r.writes.map((w) => w.data)).toEqual([0x61]);
    expect(r.counters.msi).toBe(1);
    expect(r.irq.interruptStatus).toBe(0);
  });

  it("MASK, event, MSI_ENABLE off, on, UNMASK: exactly one message (D5, D8)", () => {
    const r = rig({ perQueue: true });
    r.target(1, ADDR, 0x61);
    r.irq.setMsiEnable(true);
    r.control(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    r.irq.event(r.q0);
    expect(r.pq!.readControl(1)).toBe(MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK | MSI_TARGET_CONTROL.PENDING);
    r.irq.setMsiEnable(false);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER);
    expect(r.edges).toEqual(["raise"]);
    r.irq.setMsiEnable(true);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.writes).toEqual([]);
    r.control(1, MSI_TARGET_CONTROL.ENABLE);
    expect(r.writes).toEqual([{ addr: ADDR, data: 0x61 }]);
    r.control(1, MSI_TARGET_CONTROL.ENABLE);
    r.irq.setMsiEnable(false);
    expect(r.writes).toHaveLength(1);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.record.size).toBe(0);
  });

  it("a target written while the line is on sends nothing until MSI_ENABLE (D5)", () => {
    const r = rig({ perQueue: true });
    r.irq.event(CONFIG_CHANGE);
    r.target(0, ADDR, 0x60);
    expect(r.writes).toEqual([]);
    expect(r.pq!.state().targets[0]).toMatchObject({ enabled: true, pending: false });
    r.irq.setMsiEnable(true);
    expect(r.writes).toEqual([{ addr: ADDR, data: 0x60 }]);
  });

  it("queue reset discards the queue's event and returns its target to power-on, nothing else (D10)", () => {
    const r = rig({ perQueue: true });
    r.target(0, ADDR, 0x60);
    r.target(1, ADDR, 0x61);
    r.irq.setMsiEnable(true);
    r.control(0, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    r.control(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    r.irq.event(r.q0);
    r.irq.event(CONFIG_CHANGE);
    r.irq.queueReset(0, r.q0);
    expect(r.pq!.state().targets[1]).toMatchObject({ enabled: false, masked: false, addrLow: 0, data: 0, pending: false, staged: { addrLow: 0, addrHigh: 0 } });
    expect(r.pq!.state().targets[0]).toMatchObject({ enabled: true, masked: true, addrLow: ADDR, pending: true });
    expect(r.irq.mode).toBe("per-queue");
    // A new pair on the reset queue sends nothing for the discarded event.
    r.target(1, ADDR, 0x71);
    expect(r.writes).toEqual([]);
    r.control(0, MSI_TARGET_CONTROL.ENABLE);
    expect(r.writes).toEqual([{ addr: ADDR, data: 0x60 }]);
  });

  it("queue reset on the line drops the line only when nothing else is shown", () => {
    const r = rig({ perQueue: true });
    r.irq.event(r.q0);
    r.irq.event(CONFIG_CHANGE);
    r.irq.queueReset(0, r.q0);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise"]);
    r.irq.ack(INTERRUPT.CONFIG_CHANGE);
    r.irq.event(r.q0);
    r.irq.queueReset(0, r.q0);
    expect(r.irq.interruptStatus).toBe(0);
    expect(r.edges).toEqual(["raise", "lower", "raise", "lower"]);
  });

  it("reset turns MSI_ENABLE off and every target back to power-on (D2)", () => {
    const r = rig({ perQueue: true });
    r.target(1, ADDR, 0x61);
    r.irq.setMsiEnable(true);
    r.irq.reset();
    expect(r.irq.mode).toBe("line");
    expect(r.pq!.state().targets[1]).toMatchObject({ enabled: false, addrLow: 0 });
  });
});
