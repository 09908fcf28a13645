import { describe, expect, it } from "vitest";
import { INTERRUPT, MSI_CMD } from "./constants.ts";
import { CONFIG_EVENT, InterruptDelivery, type InterruptCounters } from "./interrupt-delivery.ts";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";

function rig(o: { msi?: boolean } = {}) {
  const edges: string[] = [];
  const tasks: (() => void)[] = [];
  const writes: { addr: number; data: number }[] = [];
  const memory = new RamMemory(new Uint8Array(4096), {
    busWrite: (addr, data) => (writes.push({ addr, data }), true),
  });
  const schedule = (fn: () => void) => tasks.push(fn);
  const msi = o.msi ? new MsiTable({ vectors: 2, sharing: false, queues: 1, memory, schedule }) : null;
  const counters: InterruptCounters = { lineRaised: 0, usedBuffer: 0, config: 0, msi: 0 };
  const errors = { ackWhileMsi: 0 };
  let inAccess = false;
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    schedule, msi, counters, errors, inAccess: () => inAccess,
  });
  const run = () => {
    while (tasks.length > 0) tasks.shift()!();
  };
  const access = (fn: () => void) => {
    inAccess = true;
    fn();
    inAccess = false;
  };
  return { irq, edges, tasks, writes, msi, counters, errors, run, access };
}

describe("InterruptDelivery on the line", () => {
  it("an event sets InterruptStatus and raises the line once; ACK clears and lowers", () => {
    const r = rig();
    r.irq.event(0);
    r.irq.event(CONFIG_EVENT);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise"]);
    r.irq.ack(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual(["raise", "lower"]);
    r.run();
    expect(r.edges).toEqual(["raise", "lower"]); // nothing left: no fresh edge
    expect(r.counters).toEqual({ lineRaised: 1, usedBuffer: 1, config: 1, msi: 0 });
  });

  it("an event inside a register access leaves only after it", () => {
    const r = rig();
    r.access(() => r.irq.event(0));
    expect(r.edges).toEqual([]);
    r.run();
    expect(r.edges).toEqual(["raise"]);
  });

  it("reset drops deliveries scheduled before it and lowers the line", () => {
    const r = rig();
    r.irq.event(0);
    r.access(() => r.irq.event(CONFIG_EVENT));
    r.irq.reset();
    r.run();
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.irq.interruptStatus).toBe(0);
    expect(r.counters.config).toBe(0);
  });
});

describe("InterruptDelivery with MSI", () => {
  it("ENABLE sends events as messages, lowers the line and ignores ACK", () => {
    const r = rig({ msi: true });
    r.irq.event(0);
    expect(r.edges).toEqual(["raise"]);
    r.msi!.selectVector(1);
    r.msi!.stageAddrLow(0xfee00000);
    r.msi!.stageData(0x41);
    r.irq.msiCommand(MSI_CMD.CONFIGURE, 0);
    r.irq.msiCommand(MSI_CMD.ENABLE, 0);
    expect(r.edges).toEqual(["raise", "lower"]);
    expect(r.irq.interruptStatus).toBe(0);
    r.irq.event(0);
    expect(r.writes).toEqual([{ addr: 0xfee00000, data: 0x41 }]);
    r.irq.ack(1);
    expect(r.errors.ackWhileMsi).toBe(1);
    expect(r.irq.msiOn).toBe(true);
    expect(r.counters.msi).toBe(1);
  });

  it("DISABLE keeps a masked message in InterruptStatus without an edge", () => {
    const r = rig({ msi: true });
    r.irq.msiCommand(MSI_CMD.ENABLE, 0);
    r.msi!.selectVector(0);
    r.irq.msiCommand(MSI_CMD.MASK, 0);
    r.irq.event(CONFIG_EVENT);
    r.irq.msiCommand(MSI_CMD.DISABLE, 0);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.CONFIG_CHANGE);
    expect(r.edges).toEqual([]);
    r.irq.event(0); // the next event raises the line carrying both bits
    expect(r.edges).toEqual(["raise"]);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.CONFIG_CHANGE | INTERRUPT.USED_BUFFER);
  });

  it("reset also resets the MSI table", () => {
    const r = rig({ msi: true });
    r.irq.msiCommand(MSI_CMD.ENABLE, 0);
    r.irq.reset();
    expect(r.irq.msiOn).toBe(false);
    expect(r.msi!.enabled).toBe(false);
  });
});
