import { describe, expect, it } from "vitest";
import { MsiPerQueue } from "./msi-per-queue.ts";
import { MsiTable } from "./msi-table.ts";
import { RamMemory } from "./ram-memory.ts";
import { INTERRUPT, MSI_CMD, MSI_PQ_CMD, MSI_PQ_STATUS, MSI_PQ_TARGET_CONFIG } from "./constants.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery } from "./interrupt-delivery.ts";

const { SET_MESSAGE, TARGET_ENABLE, TARGET_DISABLE, MASK, UNMASK } = MSI_PQ_CMD;
const APIC = 0xfee00000;
const CONFIG = MSI_PQ_TARGET_CONFIG;

// The per-queue targets as the transport uses them: behind InterruptDelivery, sharing the
// EventRecord with a fixed table (a device offering both modes).
function rig(o: { queues?: number; accept?: boolean; hint?: number } = {}) {
  const sent: [number, number][] = [];
  const edges: string[] = [];
  const ram = new Uint8Array(0x1000);
  const memory = new RamMemory(ram, { busWrite: (a, d) => (sent.push([a, d]), o.accept ?? true) });
  const queues = o.queues ?? 2;
  const record = new EventRecord(queues);
  const table = new MsiTable({ vectors: 1 + queues, sharing: false, queues, memory, record });
  const pq = new MsiPerQueue({ queues, pairsHint: o.hint ?? 1 + queues, memory, record });
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    msi: table, perQueue: pq, record, errors: { ackWhileMsi: 0 },
    counters: { lineRaised: 0, usedBuffer: 0, perQueue: new Array<number>(queues).fill(0), config: 0, msi: 0 },
  });
  /** MsiPqSel for a target: CONFIG, or a queue index. */
  const cmd = (c: number, sel: number) => {
    pq.select(sel);
    irq.perQueueCommand(c);
  };
  const setMessage = (sel: number, addr: number, data: number, high = 0) => {
    pq.stage("addrLow", addr);
    pq.stage("addrHigh", high);
    pq.stage("data", data);
    cmd(SET_MESSAGE, sel);
  };
  /** A target ready to send: message set, enabled. */
  const ready = (sel: number, data: number) => {
    setMessage(sel, APIC, data);
    cmd(TARGET_ENABLE, sel);
  };
  const mode = (c: number) => irq.msiCommand(c, 0);
  const vector = (v: number, data: number) => {
    table.selectVector(v);
    table.stage("addrLow", APIC);
    table.stage("addrHigh", 0);
    table.stage("data", data);
    irq.msiCommand(MSI_CMD.CONFIGURE, 0);
  };
  const status = (sel: number) => {
    pq.select(sel);
    return pq.statusRegister;
  };
  const signalQueue = (q: number) => irq.event(record.queue(q) ?? { kind: "queue", queue: q });
  const signalConfig = () => irq.event(CONFIG_CHANGE);
  return { pq, table, irq, record, sent, edges, ram, cmd, setMessage, ready, mode, vector, status, signalQueue, signalConfig };
}

describe("MsiPerQueue construction and registers", () => {
  it("refuses a hint outside 1..1 + queues (host errors, not guest ones)", () => {
    const memory = new RamMemory(new Uint8Array(16));
    const record = new EventRecord(2);
    for (const pairsHint of [0, 4, 1.5, -1]) expect(() => new MsiPerQueue({ queues: 2, pairsHint, memory, record })).toThrow(RangeError);
    expect(new MsiPerQueue({ queues: 2, pairsHint: 1, memory, record }).pairsHint).toBe(1);
    expect(new MsiPerQueue({ queues: 2, pairsHint: 3, memory, record }).pairsHint).toBe(3);
  });

  it("starts with every target disabled, unmasked, address and data 0, the mode off", () => {
    const { pq } = rig();
    const s = pq.state();
    expect(s).toMatchObject({ enabled: false, pairsHint: 3, selected: 0, staged: { addrLow: 0, addrHigh: 0, data: 0 } });
    expect(s.targets).toHaveLength(3);
    for (const t of s.targets) expect(t).toEqual({ addrLow: 0, addrHigh: 0, data: 0, masked: false, enabled: false, pending: false });
  });

  it("MsiPqStatus shows the selected target's enable, mask and pending bits; 0 for no target", () => {
    const { mode, cmd, status, signalQueue } = rig();
    cmd(TARGET_ENABLE, 1);
    cmd(MASK, 1);
    expect(status(1)).toBe(MSI_PQ_STATUS.ENABLED | MSI_PQ_STATUS.MASKED);
    expect(status(0)).toBe(0);
    signalQueue(1); // on the line: not a pending bit
    expect(status(1)).toBe(MSI_PQ_STATUS.ENABLED | MSI_PQ_STATUS.MASKED);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    expect(status(1)).toBe(MSI_PQ_STATUS.ENABLED | MSI_PQ_STATUS.MASKED | MSI_PQ_STATUS.PENDING);
    cmd(MASK, CONFIG);
    expect(status(CONFIG)).toBe(MSI_PQ_STATUS.MASKED);
    expect(status(2)).toBe(0);
    expect(status(0xfffffffe)).toBe(0);
  });
});

describe("MsiPerQueue commands", () => {
  it("each target sends its own message: config on its pair, queue q on its own", () => {
    const { pq, sent, ready, mode, signalConfig, signalQueue, record } = rig();
    ready(CONFIG, 0x40);
    ready(0, 0x41);
    ready(1, 0x42);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalQueue(1);
    signalConfig();
    signalQueue(0);
    expect(sent).toEqual([[APIC, 0x42], [APIC, 0x40], [APIC, 0x41]]);
    expect(pq.counters.targets.map((c) => c.delivered)).toEqual([1, 1, 1]);
    expect(record.size).toBe(0);
  });

  it("two targets sharing one pair each send their own message (no merging)", () => {
    const { sent, ready, mode, cmd, signalQueue } = rig();
    ready(0, 0x41);
    ready(1, 0x41);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    cmd(MASK, 0);
    cmd(MASK, 1);
    signalQueue(0);
    signalQueue(1);
    cmd(UNMASK, 0);
    cmd(UNMASK, 1);
    expect(sent).toEqual([[APIC, 0x41], [APIC, 0x41]]);
  });

  it("SET_MESSAGE latches address and data at once; they stay staged", () => {
    const { pq, setMessage, cmd } = rig();
    setMessage(0, APIC + 0x1000, 0x4055);
    cmd(SET_MESSAGE, 1);
    const t = pq.state().targets;
    expect(t[1]).toMatchObject({ addrLow: APIC + 0x1000, addrHigh: 0, data: 0x4055 });
    expect(t[2]).toMatchObject({ addrLow: APIC + 0x1000, addrHigh: 0, data: 0x4055 });
    expect(t[0]).toMatchObject({ addrLow: 0, data: 0 });
    expect(pq.state().staged).toEqual({ addrLow: APIC + 0x1000, addrHigh: 0, data: 0x4055 });
  });

  it("staging without SET_MESSAGE changes no target, even a pending one", () => {
    const { pq, sent, cmd, mode, signalQueue } = rig();
    cmd(TARGET_ENABLE, 0);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalQueue(0);
    pq.stage("addrLow", APIC);
    pq.stage("data", 0x41);
    expect(sent).toEqual([]);
    expect(pq.state().targets[1]).toMatchObject({ addrLow: 0, pending: true });
    cmd(SET_MESSAGE, 0);
    expect(sent).toEqual([[APIC, 0x41]]);
  });

  it("a masked target holds one pending event and sends it on UNMASK", () => {
    const { pq, sent, ready, mode, cmd, signalQueue } = rig();
    ready(0, 0x41);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    cmd(MASK, 0);
    signalQueue(0);
    signalQueue(0);
    expect(sent).toEqual([]);
    expect(pq.state().targets[1]).toMatchObject({ masked: true, pending: true });
    expect(pq.counters.targets[1]!.pendingWhileMasked).toBe(2);
    cmd(UNMASK, 0);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(pq.state().targets[1]).toMatchObject({ masked: false, pending: false });
    cmd(UNMASK, 0); // nothing pending: nothing sent
    expect(sent).toHaveLength(1);
  });

  it("a disabled target holds its event until TARGET_ENABLE", () => {
    const { pq, sent, setMessage, mode, cmd, signalConfig, record } = rig();
    setMessage(CONFIG, APIC, 0x40);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalConfig();
    expect(sent).toEqual([]);
    expect(pq.counters.targets[0]!.heldDisabled).toBe(1);
    expect(pq.pending(0)).toBe(true);
    cmd(TARGET_ENABLE, CONFIG);
    expect(sent).toEqual([[APIC, 0x40]]);
    expect(record.size).toBe(0);
  });

  it("TARGET_DISABLE keeps later events undelivered, and TARGET_ENABLE sends them", () => {
    const { sent, ready, mode, cmd, signalQueue, record } = rig();
    ready(1, 0x42);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    cmd(TARGET_DISABLE, 1);
    signalQueue(1);
    expect(sent).toEqual([]);
    expect(record.size).toBe(1);
    cmd(TARGET_ENABLE, 1);
    expect(sent).toEqual([[APIC, 0x42]]);
  });

  it("a target whose address is 0 never sends: RAM at 0 untouched, sent once given an address", () => {
    const { pq, sent, ram, cmd, mode, setMessage, signalQueue } = rig();
    cmd(TARGET_ENABLE, 0);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalQueue(0);
    expect(sent).toEqual([]);
    expect(pq.counters.targets[1]).toMatchObject({ sent: 0, heldNoAddress: 1 });
    expect(ram.every((b) => b === 0)).toBe(true);
    setMessage(0, APIC, 0x41);
    expect(sent).toEqual([[APIC, 0x41]]);
  });

  it("Linux's teardown (MASK, zero message) then set-up (message, UNMASK) loses nothing", () => {
    const { sent, ready, mode, cmd, setMessage, signalQueue, pq } = rig();
    ready(0, 0x41);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    cmd(MASK, 0);
    setMessage(0, 0, 0);
    signalQueue(0);
    cmd(UNMASK, 0); // unmasked, but address 0: still held
    expect(sent).toEqual([]);
    expect(pq.pending(1)).toBe(true);
    setMessage(0, APIC, 0x51);
    expect(sent).toEqual([[APIC, 0x51]]);
  });

  it("an address above 4 GiB is counted and holds the event", () => {
    const { pq, sent, setMessage, cmd, mode, signalConfig } = rig();
    setMessage(CONFIG, APIC, 0x40, 1);
    cmd(TARGET_ENABLE, CONFIG);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalConfig();
    expect(sent).toEqual([]);
    expect(pq.counters.addrHighNonZero).toBe(1);
    expect(pq.counters.targets[0]).toMatchObject({ heldNoAddress: 1, dropped: 0 });
    expect(pq.pending(0)).toBe(true);
    setMessage(CONFIG, APIC, 0x40, 0);
    expect(sent).toEqual([[APIC, 0x40]]);
  });

  it("a write nobody accepts counts as sent and dropped: the event is spent", () => {
    const { pq, setMessage, cmd, mode, signalConfig, record } = rig({ accept: false });
    setMessage(CONFIG, 0xfec00000, 0x40);
    cmd(TARGET_ENABLE, CONFIG);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalConfig();
    expect(pq.counters.targets[0]).toMatchObject({ sent: 1, delivered: 0, dropped: 1 });
    expect(record.size).toBe(0);
  });

  it.each([
    ["SET_MESSAGE", SET_MESSAGE],
    ["TARGET_ENABLE", TARGET_ENABLE],
    ["TARGET_DISABLE", TARGET_DISABLE],
    ["MASK", MASK],
    ["UNMASK", UNMASK],
  ])("%s with MsiPqSel naming no target counts badTarget and changes nothing", (_n, c) => {
    const { pq, cmd } = rig();
    const before = pq.state();
    pq.stage("addrLow", APIC);
    cmd(c, 2);
    cmd(c, 0xfffffffe);
    cmd(c, 0x80000000);
    expect(pq.counters).toMatchObject({ badTarget: 3, badCommand: 0, commands: 3 });
    expect(pq.state().targets).toEqual(before.targets);
  });

  it.each([0, 6, 8, 0x100, 0xffffffff, -1, 1.5])("unknown MsiPqCmd %s is counted and changes nothing", (c) => {
    const { pq } = rig();
    const before = pq.state();
    pq.command(c);
    expect(pq.counters).toMatchObject({ badCommand: 1, badTarget: 0 });
    expect(pq.state()).toEqual(before);
  });

  it("commands work before the mode is on; nothing is sent until it is", () => {
    const { sent, ready, signalQueue, mode, irq, edges } = rig();
    ready(0, 0x41);
    signalQueue(0);
    expect(sent).toEqual([]);
    expect(irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    expect(sent).toEqual([[APIC, 0x41]]);
    expect(edges).toEqual(["raise", "lower"]);
    expect(irq.interruptStatus).toBe(0);
  });

  it("an event for a queue the device does not have is ignored", () => {
    const { sent, record, ready, mode, signalQueue, pq } = rig();
    ready(0, 0x41);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalQueue(7);
    pq.signal({ kind: "queue", queue: 9 });
    expect(sent).toEqual([]);
    expect(record.size).toBe(0);
  });
});

describe("MsiPerQueue reset", () => {
  it("clears the mode, messages, enables, masks, pending bits, staging and the selector", () => {
    const { pq, irq, ready, cmd, mode, signalQueue } = rig();
    const fresh = pq.state();
    ready(1, 0x42);
    cmd(MASK, 1);
    mode(MSI_CMD.ENABLE_PER_QUEUE);
    signalQueue(1);
    expect(pq.state()).not.toEqual(fresh);
    irq.reset();
    expect(pq.state()).toEqual(fresh);
    expect(pq.enabled).toBe(false);
    expect(irq.mode).toBe("line");
  });
});
