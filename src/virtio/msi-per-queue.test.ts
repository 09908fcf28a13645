// The v3 targets (docs/virtio-mmio-msi-v3.md) behind InterruptDelivery, as the transport uses
// them; register-level tests through the whole window are in mmio-transport-v3.test.ts.
import { describe, expect, it } from "vitest";
import { CONFIG_TARGET, MsiPerQueue } from "./msi-per-queue.ts";
import { RamMemory } from "./ram-memory.ts";
import { INTERRUPT, MSI_TARGET_CONTROL } from "./constants.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery } from "./interrupt-delivery.ts";

const { ENABLE, MASK, PENDING } = MSI_TARGET_CONTROL;
const APIC = 0xfee00000;

function rig(o: { queues?: number; accept?: boolean; hint?: number } = {}) {
  const sent: [number, number][] = [];
  const edges: string[] = [];
  const memory = new RamMemory(new Uint8Array(0x1000), { busWrite: (a, d) => (sent.push([a, d]), o.accept ?? true) });
  const queues = o.queues ?? 2;
  const record = new EventRecord(queues);
  const pq = new MsiPerQueue({ queues, pairsHint: o.hint ?? 1 + queues, memory, record });
  const irq = new InterruptDelivery({
    line: { raise: () => edges.push("raise"), lower: () => edges.push("lower") },
    msi: null, perQueue: pq, record, errors: { ackWhileMsi: 0 },
    counters: { lineRaised: 0, usedBuffer: 0, perQueue: new Array<number>(queues).fill(0), config: 0, msi: 0 },
  });
  const data = (t: number, v: number) => {
    pq.writeData(t, v);
    irq.targetsChanged();
  };
  const control = (t: number, v: number) => {
    pq.writeControl(t, v);
    irq.targetsChanged();
  };
  const pair = (t: number, addr: number, d: number, high = 0) => {
    pq.writeAddrLow(t, addr);
    pq.writeAddrHigh(t, high);
    data(t, d);
  };
  const ready = (t: number, d: number) => {
    pair(t, APIC, d);
    control(t, ENABLE);
  };
  return { sent, edges, pq, irq, record, data, control, pair, ready, q: (i: number) => record.queue(i)! };
}

describe("MsiPerQueue: construction and power-on (D2, D12)", () => {
  it("refuses a hint outside 1..1 + queues", () => {
    const memory = new RamMemory(new Uint8Array(64));
    const record = new EventRecord(2);
    expect(() => new MsiPerQueue({ queues: 2, pairsHint: 0, memory, record })).toThrow(RangeError);
    expect(() => new MsiPerQueue({ queues: 2, pairsHint: 4, memory, record })).toThrow(RangeError);
    expect(new MsiPerQueue({ queues: 2, pairsHint: 1, memory, record }).pairsHint).toBe(1);
  });

  it("every target starts at address and data 0, staged and effective, ENABLE and MASK clear", () => {
    const r = rig();
    for (const t of r.pq.state().targets) {
      expect(t).toEqual({ addrLow: 0, addrHigh: 0, data: 0, masked: false, enabled: false, pending: false, staged: { addrLow: 0, addrHigh: 0 } });
    }
    expect(r.pq.enabled).toBe(false);
  });
});

describe("MsiPerQueue: writing a pair (D7)", () => {
  it("address writes are staged; reads show the effective pair until the Data write commits both", () => {
    const r = rig();
    r.pair(1, APIC, 0x61);
    r.pq.writeAddrLow(1, 0xfee01000);
    expect(r.pq.readAddrLow(1)).toBe(APIC);
    expect(r.pq.state().targets[1]!.staged.addrLow).toBe(0xfee01000);
    r.data(1, 0x62);
    expect([r.pq.readAddrLow(1), r.pq.readData(1)]).toEqual([0xfee01000, 0x62]);
  });

  it("a message never mixes two commits: a pending event waits through the address writes", () => {
    const r = rig();
    r.ready(1, 0x61);
    r.irq.setMsiEnable(true);
    r.control(1, ENABLE | MASK);
    r.irq.event(r.q(0));
    r.control(1, ENABLE);
    expect(r.sent).toEqual([[APIC, 0x61]]);
    // Event held by an unusable pair, then a half-written new pair: nothing goes out before Data.
    r.pair(1, 0, 0x61);
    r.irq.event(r.q(0));
    r.pq.writeAddrLow(1, 0xfee02000);
    expect(r.sent).toHaveLength(1);
    r.data(1, 0x63);
    expect(r.sent).toEqual([[APIC, 0x61], [0xfee02000, 0x63]]);
  });
});

describe("MsiPerQueue: control word", () => {
  it("reads ENABLE, MASK and PENDING; PENDING in a write is ignored; another bit refuses the write (D11)", () => {
    const r = rig();
    r.irq.setMsiEnable(true);
    r.control(2, ENABLE | MASK | PENDING);
    expect(r.pq.readControl(2)).toBe(ENABLE | MASK);
    r.irq.event(r.q(1));
    expect(r.pq.readControl(2)).toBe(ENABLE | MASK | PENDING);
    r.control(2, 8 | ENABLE);
    expect(r.pq.counters.badControl).toBe(1);
    expect(r.pq.readControl(2)).toBe(ENABLE | MASK | PENDING);
  });

  it("a disabled target holds its event; ENABLE sends it (D8)", () => {
    const r = rig();
    r.pair(CONFIG_TARGET, APIC, 0x60);
    r.irq.setMsiEnable(true);
    r.irq.event(CONFIG_CHANGE);
    expect(r.sent).toEqual([]);
    expect(r.pq.counters.targets[0]!.heldDisabled).toBe(1);
    r.control(CONFIG_TARGET, ENABLE);
    expect(r.sent).toEqual([[APIC, 0x60]]);
  });

  it("a target out of range reads 0 and writes change nothing", () => {
    const r = rig();
    r.pq.writeAddrLow(3, 1);
    r.pq.writeData(-1, 1);
    r.pq.writeControl(99, ENABLE);
    expect(r.pq.readControl(3)).toBe(0);
    expect(r.pq.readData(3)).toBe(0);
    expect(r.pq.queueTarget(2)).toBe(-1);
    expect(r.pq.queueTarget(1)).toBe(2);
  });
});

describe("MsiPerQueue: address 0 and above 4 GiB (D6)", () => {
  it("an enabled target with address 0 holds its event until a usable pair is committed", () => {
    const r = rig();
    r.control(1, ENABLE);
    r.irq.setMsiEnable(true);
    r.irq.event(r.q(0));
    expect(r.sent).toEqual([]);
    expect(r.pq.counters.targets[1]!.heldNoAddress).toBe(1);
    expect(r.pq.pending(1)).toBe(true);
    r.pair(1, APIC, 0x61);
    expect(r.sent).toEqual([[APIC, 0x61]]);
    expect(r.pq.pending(1)).toBe(false);
  });

  it("a high address word holds it too, counted", () => {
    const r = rig();
    r.pair(1, APIC, 0x61, 1);
    r.control(1, ENABLE);
    r.irq.setMsiEnable(true);
    r.irq.event(r.q(0));
    expect(r.sent).toEqual([]);
    expect(r.pq.counters.addrHighNonZero).toBe(1);
    r.pair(1, APIC, 0x61, 0);
    expect(r.sent).toEqual([[APIC, 0x61]]);
  });
});

describe("MsiPerQueue: mode changes lose nothing (D5)", () => {
  it("events recorded on the line become pending targets at MSI_ENABLE and are sent once", () => {
    const r = rig();
    r.ready(0, 0x60);
    r.ready(1, 0x61);
    r.ready(2, 0x62);
    r.irq.event(r.q(1));
    r.irq.event(CONFIG_CHANGE);
    expect(r.irq.interruptStatus).toBe(INTERRUPT.USED_BUFFER | INTERRUPT.CONFIG_CHANGE);
    r.irq.setMsiEnable(true);
    expect(r.sent).toEqual([[APIC, 0x60], [APIC, 0x62]]);
    expect(r.edges).toEqual(["raise", "lower"]);
    r.irq.setMsiEnable(false);
    r.irq.setMsiEnable(true);
    expect(r.sent).toHaveLength(2);
  });

  it("two targets with one pair each send for their own events (no merging)", () => {
    const r = rig();
    r.ready(1, 0x61);
    r.ready(2, 0x61);
    r.irq.setMsiEnable(true);
    r.irq.event(r.q(0));
    r.irq.event(r.q(1));
    expect(r.sent).toEqual([[APIC, 0x61], [APIC, 0x61]]);
  });
});

describe("MsiPerQueue: queue reset (D10)", () => {
  it("returns one target to power-on and leaves the others and MSI_ENABLE alone", () => {
    const r = rig();
    r.ready(1, 0x61);
    r.ready(2, 0x62);
    r.irq.setMsiEnable(true);
    r.control(1, ENABLE | MASK);
    r.control(2, ENABLE | MASK);
    r.irq.event(r.q(0));
    r.irq.event(r.q(1));
    r.irq.queueReset(0, r.q(0));
    expect(r.pq.counters.queueResets).toBe(1);
    expect(r.pq.state().targets[1]).toMatchObject({ addrLow: 0, data: 0, enabled: false, masked: false, pending: false });
    expect(r.pq.state().targets[2]).toMatchObject({ addrLow: APIC, data: 0x62, enabled: true, masked: true, pending: true });
    expect(r.pq.enabled).toBe(true);
    // The old pair never sends for the discarded event, nor does a new one.
    r.ready(1, 0x71);
    r.control(2, ENABLE);
    expect(r.sent).toEqual([[APIC, 0x62]]);
  });
});
