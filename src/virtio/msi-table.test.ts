import { describe, expect, it } from "vitest";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";
import { MSI_CMD, MSI_STATE, NO_VECTOR } from "./constants.ts";

const { ENABLE, DISABLE, CONFIGURE, MASK, UNMASK, MAP_CONFIG, MAP_QUEUE } = MSI_CMD;
const APIC = 0xfee00000;

function rig(o: { vectors?: number; sharing?: boolean; queues?: number; accept?: boolean } = {}) {
  const sent: [number, number][] = [];
  const tasks: (() => void)[] = [];
  const ram = new Uint8Array(0x1000);
  const memory = new RamMemory(ram, {
    busWrite: (a, d) => (sent.push([a, d]), o.accept ?? true),
  });
  const t = new MsiTable({
    vectors: o.vectors ?? 3, sharing: o.sharing ?? false, queues: o.queues ?? 2, memory,
    schedule: (fn) => tasks.push(fn),
  });
  const run = (): void => {
    while (tasks.length) tasks.shift()!();
  };
  const configure = (v: number, addr: number, data: number, high = 0): void => {
    t.selectVector(v);
    t.stageAddrLow(addr);
    t.stageAddrHigh(high);
    t.stageData(data);
    t.command(CONFIGURE, 0);
  };
  const cmd = (c: number, v: number, queueSel = 0) => {
    t.selectVector(v);
    return t.command(c, queueSel);
  };
  return { t, sent, tasks, run, configure, cmd, ram };
}

describe("MsiTable construction", () => {
  it("refuses configurations the spec forbids (host errors, not guest ones)", () => {
    const memory = new RamMemory(new Uint8Array(16));
    const schedule = () => {};
    expect(() => new MsiTable({ vectors: 2, sharing: false, queues: 2, memory, schedule })).toThrow(RangeError);
    expect(() => new MsiTable({ vectors: 0, sharing: true, queues: 2, memory, schedule })).toThrow(RangeError);
    expect(() => new MsiTable({ vectors: 2, sharing: true, queues: 2, memory, schedule })).not.toThrow();
  });

  it("builds a short fixed table only when a test asks; events past its end count as unmapped", () => {
    const sent: [number, number][] = [];
    const memory = new RamMemory(new Uint8Array(16), { busWrite: (a, d) => (sent.push([a, d]), true) });
    const t = new MsiTable({ vectors: 2, sharing: false, queues: 2, memory, schedule: () => {}, allowShortFixedTable: true });
    expect(t.state()).toMatchObject({ configVector: 0, queueVectors: [1, 2] });
    for (const v of [0, 1]) {
      t.selectVector(v);
      t.stageAddrLow(APIC);
      t.stageData(0x40 + v);
      t.command(CONFIGURE, 0);
    }
    t.command(ENABLE, 0);
    t.signalQueue(0);
    t.signalQueue(1);
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
    const { t, sent, configure } = rig();
    for (let v = 0; v < 3; v++) configure(v, APIC, 0x40 + v);
    t.command(ENABLE, 0);
    t.signalConfig();
    t.signalQueue(0);
    t.signalQueue(1);
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
  it("starts unmapped: events send nothing and are counted", () => {
    const { t, sent, configure } = rig({ sharing: true, vectors: 2 });
    configure(0, APIC, 0x40);
    t.command(ENABLE, 0);
    t.signalConfig();
    t.signalQueue(1);
    expect(sent).toEqual([]);
    expect(t.counters.unmapped).toBe(2);
  });

  it("MAP_CONFIG / MAP_QUEUE route events; several events may share a vector", () => {
    const { t, sent, configure, cmd } = rig({ sharing: true, vectors: 2 });
    configure(0, APIC, 0x40);
    configure(1, APIC, 0x41);
    cmd(MAP_CONFIG, 0);
    cmd(MAP_QUEUE, 1, 0);
    cmd(MAP_QUEUE, 1, 1);
    t.command(ENABLE, 0);
    t.signalQueue(0);
    t.signalQueue(1);
    t.signalConfig();
    expect(sent).toEqual([[APIC, 0x41], [APIC, 0x41], [APIC, 0x40]]);
    expect(t.counters.vectors[1]!.sent).toBe(2);
    // NO_VECTOR unmaps.
    cmd(MAP_QUEUE, NO_VECTOR, 1);
    t.signalQueue(1);
    expect(sent).toHaveLength(3);
    expect(t.state().queueVectors).toEqual([1, NO_VECTOR]);
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
  it("a masked vector holds one pending message and sends it after UNMASK, from a task", () => {
    const { t, sent, tasks, run, configure, cmd } = rig();
    configure(1, APIC, 0x41);
    t.command(ENABLE, 0);
    cmd(MASK, 1);
    t.signalQueue(0);
    t.signalQueue(0);
    expect(sent).toEqual([]);
    expect(t.state().vectors[1]).toMatchObject({ masked: true, pending: true });
    expect(t.counters.vectors[1]!.pendingWhileMasked).toBe(2);
    cmd(UNMASK, 1);
    expect(sent).toEqual([]); // not inside the register write
    expect(tasks).toHaveLength(1);
    run();
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(t.state().vectors[1]).toMatchObject({ masked: false, pending: false });
  });

  it("a MASK between UNMASK and its task keeps the message pending", () => {
    const { t, sent, run, configure, cmd } = rig();
    configure(1, APIC, 0x41);
    t.command(ENABLE, 0);
    cmd(MASK, 1);
    t.signalQueue(0);
    cmd(UNMASK, 1);
    cmd(MASK, 1);
    run();
    expect(sent).toEqual([]);
    expect(t.state().vectors[1]!.pending).toBe(true);
    cmd(UNMASK, 1);
    run();
    expect(sent).toEqual([[APIC, 0x41]]);
  });

  it("an event after UNMASK but before its task sends once, not twice", () => {
    const { t, sent, run, configure, cmd } = rig();
    configure(1, APIC, 0x41);
    t.command(ENABLE, 0);
    cmd(MASK, 1);
    t.signalQueue(0);
    cmd(UNMASK, 1);
    t.signalQueue(0);
    run();
    expect(sent).toEqual([[APIC, 0x41]]);
  });

  it("UNMASK with nothing pending sends nothing", () => {
    const { t, sent, tasks, configure, cmd } = rig();
    configure(1, APIC, 0x41);
    cmd(MASK, 1);
    cmd(UNMASK, 1);
    expect(tasks).toHaveLength(0);
    expect(sent).toEqual([]);
    expect(t.counters.badVector).toBe(0);
  });

  it("DISABLE reports which kinds of event were pending and clears them", () => {
    const { t, configure, cmd } = rig();
    for (let v = 0; v < 3; v++) configure(v, APIC, 0x40 + v);
    t.command(ENABLE, 0);
    cmd(MASK, 2);
    t.signalQueue(1);
    expect(t.command(DISABLE, 0)).toEqual({ used: true, config: false });
    expect(t.state().vectors[2]!.pending).toBe(false);
    t.command(ENABLE, 0);
    cmd(MASK, 0);
    t.signalConfig();
    expect(t.command(DISABLE, 0)).toEqual({ used: false, config: true });
  });
});

describe("MsiTable drops and guest errors", () => {
  it("a vector never configured (address 0) drops and counts, and RAM at 0 is untouched", () => {
    const { t, sent, ram } = rig();
    t.command(ENABLE, 0);
    t.signalConfig();
    expect(sent).toEqual([]);
    expect(t.counters.vectors[0]).toMatchObject({ sent: 0, dropped: 1 });
    expect(ram.every((b) => b === 0)).toBe(true);
  });

  it("an address above 4 GiB is counted and not sent", () => {
    const { t, sent, configure } = rig();
    configure(0, APIC, 0x40, 1);
    t.command(ENABLE, 0);
    t.signalConfig();
    expect(sent).toEqual([]);
    expect(t.counters.addrHighNonZero).toBe(1);
    expect(t.counters.vectors[0]!.dropped).toBe(1);
  });

  it("a write nobody accepts counts as sent and dropped", () => {
    const { t, configure } = rig({ accept: false });
    configure(0, 0xfec00000, 0x40);
    t.command(ENABLE, 0);
    t.signalConfig();
    expect(t.counters.vectors[0]).toMatchObject({ sent: 1, delivered: 0, dropped: 1 });
  });

  it.each([
    ["CONFIGURE", CONFIGURE],
    ["MASK", MASK],
    ["UNMASK", UNMASK],
  ])("%s with MsiVecSel out of range counts badVector and changes nothing", (_n, c) => {
    const { t, cmd } = rig();
    const before = t.state();
    t.stageAddrLow(APIC);
    cmd(c, 3);
    cmd(c, NO_VECTOR);
    expect(t.counters.badVector).toBe(2);
    expect(t.state().vectors).toEqual(before.vectors);
  });

  it.each([0, 8, 0x100, 0xffffffff, -1, 1.5])("unknown command %s is counted and changes nothing", (c) => {
    const { t } = rig();
    const before = t.state();
    expect(t.command(c, 0)).toBeNull();
    expect(t.counters.badCommand).toBe(1);
    expect(t.state()).toEqual(before);
  });

  it("a bad queue index from the device is counted", () => {
    const { t } = rig();
    t.signalQueue(7);
    expect(t.counters.badQueue).toBe(1);
  });
});

describe("MsiTable reset", () => {
  it("clears enable, vectors, masks, pending bits, staging and mappings", () => {
    for (const sharing of [false, true]) {
      const { t, configure, cmd } = rig({ sharing });
      const fresh = t.state();
      configure(1, APIC, 0x41);
      cmd(MASK, 1);
      cmd(MAP_QUEUE, 1, 0);
      t.command(ENABLE, 0);
      t.signalQueue(0);
      t.reset();
      expect(t.state()).toEqual(fresh);
      expect(t.enabled).toBe(false);
    }
  });
});
