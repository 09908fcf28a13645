import { describe, expect, it } from "vitest";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";
import { INTERRUPT, MSI_CMD, MSI_STATE, NO_VECTOR } from "./constants.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery } from "./interrupt-delivery.ts";

const { ENABLE, DISABLE, CONFIGURE, MASK, UNMASK, MAP_CONFIG, MAP_QUEUE } = MSI_CMD;
const APIC = 0xfee00000;

// The table as the transport uses it: behind InterruptDelivery, sharing its EventRecord.
function rig(o: { vectors?: number; sharing?: boolean; queues?: number; accept?: boolean; short?: boolean } = {}) {
  const sent: [number, number][] = [];
  const edges: string[] = [];
  const ram = new Uint8Array(0x1000);
  const memory = new RamMemory(ram, {
    busWrite: (a, d) => (sent.push([a, d]), o.accept ?? true),
  });
  const queues = o.queues ?? 2;
  const record = new EventRecord(queues);
  const t = new MsiTable({ vectors: o.vectors ?? 3, sharing: o.sharing ?? false, queues, memory, record, allowShortFixedTable: o.short ?? false });
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    msi: t, record, errors: { ackWhileMsi: 0 },
    counters: { lineRaised: 0, usedBuffer: 0, perQueue: new Array<number>(queues).fill(0), config: 0, msi: 0 },
  });
  const configure = (v: number, addr: number, data: number, high = 0): void => {
    t.selectVector(v);
    t.stage("addrLow", addr);
    t.stage("addrHigh", high);
    t.stage("data", data);
    irq.msiCommand(CONFIGURE, 0);
  };
  const cmd = (c: number, v: number, queueSel = 0) => {
    t.selectVector(v);
    irq.msiCommand(c, queueSel);
  };
  const enable = () => irq.msiCommand(ENABLE, 0);
  const signalConfig = () => irq.event(CONFIG_CHANGE);
  const signalQueue = (q: number) => irq.event(record.queue(q) ?? { kind: "queue", queue: q });
  return { t, irq, record, sent, edges, configure, cmd, enable, signalConfig, signalQueue, ram };
}

describe("MsiTable construction", () => {
  it("refuses configurations the spec forbids (host errors, not guest ones)", () => {
    const memory = new RamMemory(new Uint8Array(16));
    const record = new EventRecord(2);
    expect(() => new MsiTable({ vectors: 2, sharing: false, queues: 2, memory, record })).toThrow(RangeError);
    expect(() => new MsiTable({ vectors: 0, sharing: true, queues: 2, memory, record })).toThrow(RangeError);
    expect(() => new MsiTable({ vectors: 2, sharing: true, queues: 2, memory, record })).not.toThrow();
  });

  it("builds a short fixed table only when a test asks; events past its end count as unmapped", () => {
    const { t, sent, configure, enable, signalQueue } = rig({ vectors: 2, queues: 2, short: true });
    expect(t.state()).toMatchObject({ configVector: 0, queueVectors: [1, NO_VECTOR] });
    configure(0, APIC, 0x40);
    configure(1, APIC, 0x41);
    enable();
    signalQueue(0);
    signalQueue(1);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(t.counters.unmapped).toBe(1);
    expect(t.counters.badVector).toBe(0);
  });

  it("reports MsiState", () => {
    expect(rig().t.stateRegister).toBe(0);
    const { t } = rig({ sharing: true });
    expect(t.stateRegister).toBe(MSI_STATE.SHARING >>> 0);
    t.command(ENABLE, 0);
    expect(t.stateRegister).toBe((MSI_STATE.ENABLED | MSI_STATE.SHARING) >>> 0);
    t.command(DISABLE, 0);
    expect(t.enabled).toBe(false);
  });
});

describe("MsiTable fixed mapping", () => {
  it("vector 0 is config, 1 + i is queue i", () => {
    const { t, sent, configure, enable, signalConfig, signalQueue } = rig();
    for (let v = 0; v < 3; v++) configure(v, APIC, 0x40 + v);
    enable();
    signalConfig();
    signalQueue(0);
    signalQueue(1);
    expect(sent).toEqual([[APIC, 0x40], [APIC, 0x41], [APIC, 0x42]]);
    expect(t.counters.vectors.map((c) => c.delivered)).toEqual([1, 1, 1]);
    expect(t.state()).toMatchObject({ configVector: 0, queueVectors: [1, 2] });
  });

  it("MAP commands are counted and ignored", () => {
    const { t, cmd } = rig();
    cmd(MAP_CONFIG, 2);
    cmd(MAP_QUEUE, 0, 1);
    expect(t.counters.mapInFixedMode).toBe(2);
    expect(t.state()).toMatchObject({ configVector: 0, queueVectors: [1, 2] });
  });

  it("CONFIGURE copies the staged values, which stay staged", () => {
    const { t, configure, cmd } = rig();
    configure(1, APIC + 0x1000, 0x4055);
    cmd(CONFIGURE, 2);
    const v = t.state().vectors;
    expect(v[1]).toMatchObject({ addrLow: APIC + 0x1000, addrHigh: 0, data: 0x4055 });
    expect(v[2]).toMatchObject({ addrLow: APIC + 0x1000, data: 0x4055 });
    expect(v[0]).toMatchObject({ addrLow: 0, data: 0 });
  });
});

describe("MsiTable dynamic mapping", () => {
  it("starts unmapped: events send nothing, are counted, and stay undelivered", () => {
    const { t, sent, configure, enable, signalConfig, signalQueue, record } = rig({ sharing: true, vectors: 2 });
    configure(0, APIC, 0x40);
    enable();
    signalConfig();
    signalQueue(1);
    expect(sent).toEqual([]);
    expect(t.counters.unmapped).toBe(2);
    expect(record.size).toBe(2);
  });

  it("MAP_CONFIG / MAP_QUEUE route events; several events may share a vector", () => {
    const { t, sent, configure, cmd, enable, signalConfig, signalQueue } = rig({ sharing: true, vectors: 2 });
    configure(0, APIC, 0x40);
    configure(1, APIC, 0x41);
    cmd(MAP_CONFIG, 0);
    cmd(MAP_QUEUE, 1, 0);
    cmd(MAP_QUEUE, 1, 1);
    enable();
    signalQueue(0);
    signalQueue(1);
    signalConfig();
    expect(sent).toEqual([[APIC, 0x41], [APIC, 0x41], [APIC, 0x40]]);
    expect(t.counters.vectors[1]!.sent).toBe(2);
    // NO_VECTOR unmaps.
    cmd(MAP_QUEUE, NO_VECTOR, 1);
    signalQueue(1);
    expect(sent).toHaveLength(3);
    expect(t.state().queueVectors).toEqual([1, NO_VECTOR]);
  });

  it("an event waiting on an unmapped source goes out when the driver maps it", () => {
    const { sent, configure, cmd, enable, signalQueue, record } = rig({ sharing: true, vectors: 2 });
    configure(1, APIC, 0x41);
    enable();
    signalQueue(0);
    expect(sent).toEqual([]);
    cmd(MAP_QUEUE, 1, 0);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(record.size).toBe(0);
  });

  it("a pending event follows its source to a new vector; the old one is no longer pending", () => {
    const { t, sent, configure, cmd, enable, signalConfig } = rig({ sharing: true, vectors: 2 });
    configure(0, APIC, 0x40);
    configure(1, APIC, 0x41);
    cmd(MAP_CONFIG, 0);
    enable();
    cmd(MASK, 0);
    signalConfig();
    expect(t.pending(0)).toBe(true);
    cmd(MAP_CONFIG, 1);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(t.pending(0)).toBe(false);
    cmd(UNMASK, 0);
    expect(sent).toHaveLength(1);
  });

  it("one message on a shared vector delivers every event mapped to it", () => {
    const { t, sent, configure, cmd, enable, signalQueue, record } = rig({ sharing: true, vectors: 2 });
    configure(1, APIC, 0x41);
    cmd(MAP_QUEUE, 1, 0);
    cmd(MAP_QUEUE, 1, 1);
    enable();
    cmd(MASK, 1);
    signalQueue(0);
    signalQueue(1);
    expect(t.counters.vectors[1]!.pendingWhileMasked).toBe(2);
    cmd(UNMASK, 1);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(record.size).toBe(0);
  });

  it("bad MAP arguments are counted and change nothing", () => {
    const { t, cmd } = rig({ sharing: true, vectors: 2 });
    cmd(MAP_CONFIG, 2);
    cmd(MAP_QUEUE, 5, 0);
    cmd(MAP_QUEUE, 1, 2); // QueueSel out of range
    cmd(MAP_QUEUE, 1, 0xffffffff);
    expect(t.counters).toMatchObject({ badVector: 2, badQueue: 2 });
    expect(t.state()).toMatchObject({ configVector: NO_VECTOR, queueVectors: [NO_VECTOR, NO_VECTOR] });
  });
});

describe("MsiTable mask / pending / unmask", () => {
  it("a masked vector holds one pending message and sends it on UNMASK", () => {
    const { t, sent, configure, cmd, enable, signalQueue } = rig();
    configure(1, APIC, 0x41);
    enable();
    cmd(MASK, 1);
    signalQueue(0);
    signalQueue(0);
    expect(sent).toEqual([]);
    expect(t.state().vectors[1]).toMatchObject({ masked: true, pending: true });
    expect(t.counters.vectors[1]!.pendingWhileMasked).toBe(2);
    cmd(UNMASK, 1);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(t.state().vectors[1]).toMatchObject({ masked: false, pending: false });
  });

  it("UNMASK with nothing pending sends nothing", () => {
    const { t, sent, configure, cmd, enable } = rig();
    configure(1, APIC, 0x41);
    enable();
    cmd(MASK, 1);
    cmd(UNMASK, 1);
    expect(sent).toEqual([]);
    expect(t.counters.badVector).toBe(0);
  });

  it("MASK and UNMASK work before ENABLE; UNMASK while disabled sends nothing", () => {
    const { t, sent, configure, cmd, enable, signalQueue, irq } = rig();
    configure(1, APIC, 0x41);
    cmd(MASK, 1);
    signalQueue(0); // on the line: InterruptStatus
    expect(irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER);
    enable(); // pending on masked vector 1, InterruptStatus 0
    expect(t.pending(1)).toBe(true);
    expect(irq.interruptStatus).toBe(0);
    expect(sent).toEqual([]);
    cmd(UNMASK, 1);
    expect(sent).toEqual([[APIC, 0x41]]);
  });

  it("DISABLE clears the pending bits into InterruptStatus and asserts the line", () => {
    const { t, configure, cmd, enable, signalQueue, signalConfig, irq, edges } = rig();
    for (let v = 0; v < 3; v++) configure(v, APIC, 0x40 + v);
    enable();
    cmd(MASK, 2);
    signalQueue(1);
    cmd(DISABLE, 0);
    expect(irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER);
    expect(edges).toEqual(["raise"]);
    expect(t.state().vectors[2]!.pending).toBe(false);
    enable(); // back to MSI: the event is pending again on masked vector 2
    expect(t.state().vectors[2]!.pending).toBe(true);
    expect(edges).toEqual(["raise", "lower"]);
    cmd(MASK, 0);
    signalConfig();
    cmd(DISABLE, 0);
    expect(irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
  });
});

describe("MsiTable addresses, drops and guest errors", () => {
  it("a vector never configured (address 0) never sends: the event stays pending, RAM at 0 untouched", () => {
    const { t, sent, ram, enable, signalConfig, configure } = rig();
    enable();
    signalConfig();
    expect(sent).toEqual([]);
    expect(t.counters.vectors[0]).toMatchObject({ sent: 0, heldNoAddress: 1 });
    expect(t.pending(0)).toBe(true);
    expect(ram.every((b) => b === 0)).toBe(true);
    configure(0, APIC, 0x40); // configured again (unmasked): it goes now
    expect(sent).toEqual([[APIC, 0x40]]);
  });

  it("Linux's teardown (MASK, zero message) then set-up (message, UNMASK) loses nothing", () => {
    const { t, sent, configure, cmd, enable, signalQueue } = rig();
    configure(1, APIC, 0x41);
    enable();
    cmd(MASK, 1);
    configure(1, 0, 0);
    signalQueue(0);
    cmd(UNMASK, 1); // unmasked, but address 0: still held
    expect(sent).toEqual([]);
    expect(t.pending(1)).toBe(true);
    configure(1, APIC, 0x51);
    expect(sent).toEqual([[APIC, 0x51]]);
  });

  it("an address above 4 GiB is counted and holds the event", () => {
    const { t, sent, configure, enable, signalConfig } = rig();
    configure(0, APIC, 0x40, 1);
    enable();
    signalConfig();
    expect(sent).toEqual([]);
    expect(t.counters.addrHighNonZero).toBe(1);
    expect(t.counters.vectors[0]).toMatchObject({ heldNoAddress: 1, dropped: 0 });
    expect(t.pending(0)).toBe(true);
  });

  it("a write nobody accepts counts as sent and dropped: the event is spent", () => {
    const { t, configure, enable, signalConfig, record } = rig({ accept: false });
    configure(0, 0xfec00000, 0x40);
    enable();
    signalConfig();
    expect(t.counters.vectors[0]).toMatchObject({ sent: 1, delivered: 0, dropped: 1 });
    expect(record.size).toBe(0);
  });

  it.each([
    ["CONFIGURE", CONFIGURE],
    ["MASK", MASK],
    ["UNMASK", UNMASK],
  ])("%s with MsiVecSel out of range counts badVector and changes nothing", (_n, c) => {
    const { t, cmd } = rig();
    const before = t.state();
    t.stage("addrLow", APIC);
    cmd(c, 3);
    cmd(c, NO_VECTOR);
    expect(t.counters.badVector).toBe(2);
    expect(t.state().vectors).toEqual(before.vectors);
  });

  it.each([0, 8, 0x100, 0xffffffff, -1, 1.5])("unknown command %s is counted and changes nothing", (c) => {
    const { t } = rig();
    const before = t.state();
    t.command(c, 0);
    expect(t.counters.badCommand).toBe(1);
    expect(t.state()).toEqual(before);
  });

  it("an event for a queue the device does not have is ignored", () => {
    const { sent, record, enable, signalQueue } = rig();
    enable();
    signalQueue(7);
    expect(sent).toEqual([]);
    expect(record.size).toBe(0);
  });
});

describe("MsiTable reset", () => {
  it("clears enable, vectors, masks, pending bits, staging and mappings", () => {
    for (const sharing of [false, true]) {
      const { t, irq, configure, cmd, enable, signalQueue } = rig({ sharing });
      const fresh = t.state();
      configure(1, APIC, 0x41);
      cmd(MASK, 1);
      cmd(MAP_QUEUE, 1, 0);
      enable();
      signalQueue(0);
      irq.reset();
      expect(t.state()).toEqual(fresh);
      expect(t.enabled).toBe(false);
    }
  });
});
