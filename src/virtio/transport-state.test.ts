// Save and restore of a transport through the driver's eyes: a TestDriver runs a device to
// DRIVER_OK (2020 MSI table, v3 targets, line), leaves work done, pending and in flight, saves;
// a second driver on a copy of the RAM restores into a fresh transport and device and carries
// on. And every kind of bad state is refused before anything changes.

import { describe, expect, it } from "vitest";
import { INTERRUPT, MSI_CMD, MSI_TARGET_CONTROL } from "./constants.ts";
import type { MmioMsiOptions } from "./mmio-transport.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { Prng } from "../testing/prng.ts";
import { TEST_MSI_ADDR, TestDriver, testMsiData, testPqData } from "../testing/test-driver.ts";
import type { TransportSavedState } from "./transport-state.ts";

const MSI: MmioMsiOptions = { layout: "2020", vectors: 3, sharing: false };
const V3: MmioMsiOptions = { layout: "v3" };
const SHARED: MmioMsiOptions = { layout: "2020", vectors: 2, sharing: true };
const RAM = 1 << 20;

function driver(msi: MmioMsiOptions | false = MSI, ram?: Uint8Array) {
  const device = new EchoDevice({ queues: [16, 16] });
  const d = new TestDriver({ device, msi, ...(ram ? { ram } : { ramSize: RAM }) });
  return { d, device, t: d.transport };
}

/** A chain whose written bytes are `bytes` echoed; returns where they land. */
function request(d: TestDriver, q: number, bytes: number[]) {
  return d.addChain(q, { readable: [new Uint8Array(bytes)], writable: [bytes.length] });
}

/** Saves `d`, builds a fresh driver/transport/device on a copy of its RAM and restores there. */
function saveAndRestore(d: TestDriver, msi: MmioMsiOptions | false = MSI, viaJson = true) {
  const saved = d.transport.saveState();
  const state: unknown = viaJson ? JSON.parse(JSON.stringify(saved)) : saved;
  const next = driver(msi, d.ram.slice());
  next.d.continueFrom(d);
  next.t.restoreState(state);
  return { ...next, saved };
}

describe("transport save and restore: table mode", () => {
  it("a masked vector's pending event arrives once after UNMASK; old and new requests are byte-exact", () => {
    const { d } = driver();
    expect(d.init({ msi: "fixed" }).ok).toBe(true);
    const before = request(d, 0, [1, 2, 3]);
    expect(d.kick(0)).toEqual([{ id: before.head, len: 3 }]);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(1) }]);
    d.msiCommand(MSI_CMD.MASK, 2);
    const masked = request(d, 1, [4, 5]);
    d.notify(1);
    d.runTasks();
    expect(d.msiWrites).toHaveLength(1); // held on masked vector 2

    const { d: d2, t: t2, saved } = saveAndRestore(d);
    expect(d2.runTasks()).toBe(1); // the restore's notify of every running queue: nothing new
    expect(t2.saveState()).toEqual(saved);
    expect(t2.state()).toMatchObject({ msiMode: "table", lineHigh: false, interruptStatus: 0 });
    expect(t2.state().msi!.vectors[2]).toMatchObject({ masked: true, pending: true });
    expect(d2.lineEvents).toEqual([]);
    expect(d2.msiWrites).toEqual([]);
    // The completion from before the save is on the used ring of the restored RAM.
    expect(d2.takeUsed(1)).toEqual([{ id: masked.head, len: 2 }]);
    expect(Array.from(d2.read(masked.writable[0]!.addr, 2))).toEqual([4, 5]);

    d2.msiCommand(MSI_CMD.UNMASK, 2);
    expect(d2.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(2) }]);
    d2.msiCommand(MSI_CMD.UNMASK, 2);
    expect(d2.msiWrites).toHaveLength(1); // exactly once

    const after = request(d2, 0, [9, 8, 7, 6]);
    expect(d2.kick(0)).toEqual([{ id: after.head, len: 4 }]);
    expect(Array.from(d2.read(after.writable[0]!.addr, 4))).toEqual([9, 8, 7, 6]);
    expect(Array.from(d2.read(before.writable[0]!.addr, 3))).toEqual([1, 2, 3]);
    expect(d2.msiWrites.at(-1)).toEqual({ addr: TEST_MSI_ADDR, data: testMsiData(1) });
  });

  it("a chain the device had taken but not completed is taken again and completed once", () => {
    const { d, device } = driver();
    d.init({ msi: "fixed" });
    const c = request(d, 0, [42, 43]);
    expect(device.queue(0)!.pop()).not.toBeNull(); // in flight at the save
    expect(d.transport.state().queues[0]!.live).toMatchObject({ lastAvailIdx: 1, usedIdx: 0 });

    const { d: d2, device: dev2, t: t2 } = saveAndRestore(d);
    d2.runTasks();
    expect(d2.takeUsed(0)).toEqual([{ id: c.head, len: 2 }]);
    expect(Array.from(d2.read(c.writable[0]!.addr, 2))).toEqual([42, 43]);
    expect(dev2.counters.chains).toBe(1);
    expect(t2.state().queues[0]!.live).toMatchObject({ lastAvailIdx: 1, usedIdx: 1 });
    d2.notify(0);
    d2.runTasks();
    expect(d2.takeUsed(0)).toEqual([]); // not twice
  });

  it("a notify the driver wrote but the platform had not run yet runs after the restore", () => {
    const { d } = driver();
    d.init({ msi: "fixed" });
    const c = request(d, 1, [7]);
    d.notify(1); // the task stays queued on the old machine
    const { d: d2, saved } = saveAndRestore(d);
    expect(saved.pendingNotify).toEqual([1]);
    d2.runTasks();
    expect(d2.takeUsed(1)).toEqual([{ id: c.head, len: 1 }]);
    expect(d2.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testMsiData(2) }]);
  });

  it("the staged values, selectors and a shared mapping survive", () => {
    const { d } = driver(SHARED);
    d.init({ msi: "shared" });
    d.write32("MsiVecSel", 1);
    d.write32("MsiAddrLow", 0xfee01000);
    d.write32("MsiData", 0x77);
    d.write32("QueueSel", 1);
    const { t: t2, saved } = saveAndRestore(d, SHARED);
    expect(t2.saveState()).toEqual({ ...saved, pendingNotify: [0, 1] });
    expect(t2.state().msi).toMatchObject({ vecSel: 1, staged: { addrLow: 0xfee01000, addrHigh: 0, data: 0x77 }, configVector: 0, queueVectors: [1, 1] });
  });
});

describe("transport save and restore: the v3 layout", () => {
  it("a masked target's event arrives once after unmasking, the others keep sending", () => {
    const { d } = driver(V3);
    d.init({ msi: "per-queue" });
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    const c = request(d, 0, [5, 6, 7]);
    d.kick(0);
    expect(d.msiWrites).toEqual([]);
    const { d: d2, t: t2 } = saveAndRestore(d, V3);
    d2.runTasks();
    expect(t2.state()).toMatchObject({ msiMode: "per-queue", msiLayout: "v3", lineHigh: false });
    expect(t2.state().msiPerQueue!.targets[1]).toMatchObject({ masked: true, pending: true, enabled: true });
    d2.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
    d2.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
    expect(d2.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(1) }]);
    expect(Array.from(d2.read(c.writable[0]!.addr, 3))).toEqual([5, 6, 7]);
    const n = request(d2, 1, [1]);
    expect(d2.kick(1)).toEqual([{ id: n.head, len: 1 }]);
    expect(d2.msiWrites.at(-1)).toEqual({ addr: TEST_MSI_ADDR, data: testPqData(2) });
  });

  it("staged addresses, MSI_ENABLE and a queue reset in progress survive; the reset queue can be set up after", () => {
    const { d } = driver(V3);
    d.init({ msi: "per-queue" });
    d.write32("ConfigMsiAddrLow", 0xfee02000);
    d.queueReset(1);
    d.write32("QueueSel", 1);
    d.write32("QueueMsiAddrLow", 0xfee03000);
    const { d: d2, t: t2, saved } = saveAndRestore(d, V3);
    expect(saved.queues[1]).toMatchObject({ ready: false, reopened: true, live: null });
    expect(t2.saveState()).toEqual({ ...saved, pendingNotify: [0] });
    expect(t2.state().msiPerQueue!.targets[0]!.staged.addrLow).toBe(0xfee02000);
    expect(d2.read32("MsiControl")).toBe(1);
    d2.reenableQueue(1, 8);
    d2.setTarget(2, TEST_MSI_ADDR, 0x72);
    d2.targetControl(2, MSI_TARGET_CONTROL.ENABLE);
    const n = request(d2, 1, [6]);
    expect(d2.kick(1)).toEqual([{ id: n.head, len: 1 }]);
    expect(d2.msiWrites.at(-1)).toEqual({ addr: TEST_MSI_ADDR, data: 0x72 });
  });

  it("a version 1 state (the old per-queue mode) is refused with a message that says why", () => {
    const { d, t } = driver(V3);
    d.init({ msi: "per-queue" });
    const old = { ...JSON.parse(JSON.stringify(t.saveState())), version: 1 };
    expect(() => t.restoreState(old)).toThrow(/version 1 was saved before the v3 MSI layout/);
  });
});

describe("transport save and restore: the line", () => {
  it("an unacknowledged event raises the fresh line once; the ACK lowers it; InterruptStatus matches", () => {
    const { d } = driver(false);
    d.init();
    const c = request(d, 0, [3, 1, 4]);
    d.kick(0);
    expect(d.lineHigh).toBe(true);
    const { d: d2, t: t2 } = saveAndRestore(d, false);
    expect(d2.lineEvents).toEqual(["raise"]);
    expect(t2.counters.interrupts.lineRaised).toBe(0); // the saved edge, not a new one
    d2.runTasks();
    expect(d2.read32("InterruptStatus")).toBe(INTERRUPT.USED_BUFFER);
    expect(d2.handleLineInterrupt()).toBe(INTERRUPT.USED_BUFFER);
    expect(d2.lineEvents).toEqual(["raise", "lower"]);
    expect(d2.read32("InterruptStatus")).toBe(0);
    expect(Array.from(d2.read(c.writable[0]!.addr, 3))).toEqual([3, 1, 4]);
    const n = request(d2, 1, [2, 7]);
    expect(d2.kick(1)).toEqual([{ id: n.head, len: 2 }]);
    expect(d2.lineEvents).toEqual(["raise", "lower", "raise"]);
  });

  it("a config change pending on the line comes back with ConfigGeneration", () => {
    const { d, device } = driver(false);
    d.init();
    device.changeConfig(0, 9);
    const gen = d.read32("ConfigGeneration");
    const { d: d2 } = saveAndRestore(d, false);
    expect(d2.read32("ConfigGeneration")).toBe(gen);
    expect(d2.read32("InterruptStatus")).toBe(INTERRUPT.CONFIG_CHANGE);
  });

  it("a transport before DRIVER_OK restores its registers and activates nothing", () => {
    const { d } = driver();
    d.init({ driverOk: false });
    const { device: dev2, t: t2, saved } = saveAndRestore(d);
    expect(dev2.counters.activations).toBe(0);
    expect(t2.saveState()).toEqual(saved);
  });
});

describe("transport restore refuses bad states and changes nothing", () => {
  /** A good saved state (table mode, one event pending on a masked vector). */
  function good(): TransportSavedState {
    const { d } = driver();
    d.init({ msi: "fixed" });
    d.msiCommand(MSI_CMD.MASK, 1);
    request(d, 0, [1]);
    d.kick(0);
    return JSON.parse(JSON.stringify(d.transport.saveState())) as TransportSavedState;
  }
  type Edit = (s: Record<string, any>) => unknown;
  const cases: [string, Edit, RegExp][] = [
    ["another kind", (s) => ({ ...s, kind: "virtio-blk" }), /kind: expected "virtio-mmio-transport"/],
    ["another version", (s) => ({ ...s, version: 3 }), /version: expected 2, got 3/],
    ["not an object", () => "{", /state: expected an object/],
    ["a missing field", (s) => { delete s.queues; return s; }, /queues: missing/],
    ["an unknown field", (s) => ({ ...s, extra: 1 }), /state.extra: unknown field/],
    ["a truncated queue list", (s) => ({ ...s, queues: s.queues.slice(0, 1) }), /queues: expected 2 entries, got 1/],
    ["another device type", (s) => ({ ...s, deviceId: 2 }), /deviceId: saved from device type 2/],
    ["another feature set", (s) => ({ ...s, offeredFeatures: "0x1" }), /offeredFeatures/],
    ["a queue size not a power of two", (s) => { s.queues[0].num = 12; return s; }, /queues\[0\].num: 12 is not a power of two/],
    ["a queue size beyond the maximum", (s) => { s.queues[1].num = 32; return s; }, /queues\[1\].num: 32/],
    ["a ring outside RAM", (s) => { s.queues[0].desc = [RAM, 0]; return s; }, /queues\[0\]: ring layout refused \(ringOutOfRange\)/],
    ["a misaligned ring", (s) => { s.queues[0].device[0] += 2; return s; }, /ringAlign/],
    ["an index beyond u16", (s) => { s.queues[0].live.usedIdx = 0x10000; return s; }, /usedIdx: expected a u16/],
    ["more chains in flight than the queue has", (s) => { s.queues[0].live.lastAvailIdx = 40; return s; }, /39 chains in flight on a queue of 16/],
    ["a negative value", (s) => ({ ...s, queueSel: -1 }), /queueSel: expected a u32/],
    ["a fractional value", (s) => { s.msi.vectors[0].data = 1.5; return s; }, /msi.vectors\[0\].data: expected a u32/],
    ["unknown status bits", (s) => ({ ...s, status: s.status | 0x100 }), /status: unknown bits/],
    ["a running device without DRIVER_OK", (s) => ({ ...s, status: 0x0b }), /active: a running device without DRIVER_OK/],
    ["a vector beyond the table", (s) => { s.msi.queueVectors[0] = 3; return s; }, /vector 3 beyond the table of 3/],
    ["a remapped fixed table", (s) => { s.msi.queueVectors = [2, 1]; return s; }, /other than the fixed one/],
    ["a short vector list", (s) => { s.msi.vectors.pop(); return s; }, /msi.vectors: expected 3 entries/],
    ["v3 targets on a 2020 device", (s) => ({ ...s, msiPerQueue: { enabled: false, targets: [] } }), /v3 targets for a device without the v3 layout/],
    ["another MSI layout", (s) => ({ ...s, msiLayout: "v3" }), /msiLayout: saved from a device with MSI layout "v3"/],
    ["a reset queue that is ready", (s) => { s.queues[0].reopened = true; return s; }, /queues\[0\].reopened/],
    ["a line that contradicts the events", (s) => ({ ...s, lineHigh: true }), /lineHigh: the line is high/],
    ["an event list of the wrong length", (s) => { s.events.queues.push(false); return s; }, /events.queues: expected 2 entries/],
    ["a notify of a queue that does not run", (s) => ({ ...s, pendingNotify: [5] }), /pendingNotify\[0\]: queue 5 does not run/],
    ["a boolean that is not one", (s) => { s.msi.vectors[1].masked = 1; return s; }, /msi.vectors\[1\].masked: expected true or false/],
  ];

  it.each(cases)("%s", (_name, edit, message) => {
    const { d } = driver();
    d.init({ msi: "fixed" });
    request(d, 1, [8]);
    d.kick(1);
    const before = d.transport.state();
    const ram = d.ram.slice();
    expect(() => d.transport.restoreState(edit(good()))).toThrow(message);
    expect(d.transport.state()).toEqual(before);
    expect(Buffer.compare(d.ram, ram)).toBe(0); // RAM untouched
    expect(d.lineEvents).toEqual([]);
    // And the transport still works as before.
    const n = request(d, 0, [3]);
    expect(d.kick(0)).toEqual([{ id: n.head, len: 1 }]);
  });

  it("a state of a device without MSI is refused by one with it, and the other way round", () => {
    const plain = driver(false);
    plain.d.init();
    const s = JSON.parse(JSON.stringify(plain.t.saveState())) as unknown;
    const { t } = driver();
    expect(() => t.restoreState(s)).toThrow(/offeredFeatures|msi/);
    expect(() => plain.t.restoreState(good())).toThrow(/offeredFeatures|msi/);
  });
});

describe("transport save and restore: any reachable state round-trips", () => {
  /** The driver-visible parts of state() (counters describe the run, not the device). */
  const visible = (s: ReturnType<TestDriver["transport"]["state"]>) => ({
    ...s,
    // A restore rewinds the chains in flight (transport-state.ts): compare them rewound.
    queues: s.queues.map((q) => ({ ...q, live: q.live && { broken: q.live.broken, usedIdx: q.live.usedIdx } })),
  });
  const rewound = (s: TransportSavedState) => ({
    ...s,
    pendingNotify: [],
    queues: s.queues.map((q) => ({ ...q, live: q.live && { ...q.live, lastAvailIdx: q.live.usedIdx } })),
  });
  const REGS = [
    "DeviceFeaturesSel", "DriverFeatures", "DriverFeaturesSel", "QueueSel", "QueueNum", "QueueReady", "QueueNotify",
    "InterruptACK", "Status", "QueueDescLow", "QueueDriverLow", "QueueDeviceLow", "MsiCmd", "MsiVecSel", "MsiAddrLow",
    "MsiAddrHigh", "MsiData", "QueueReset", "QueueMsiAddrLow", "QueueMsiData", "QueueMsiControl", "ConfigMsiAddrLow",
    "ConfigMsiData", "ConfigMsiControl", "MsiControl",
  ] as const;

  it.each(Array.from({ length: 40 }, (_, i) => i + 1))("seed %i: random driver and hostile steps, save, JSON, restore: the same state", (seed) => {
    const rng = new Prng(seed);
    const msi: MmioMsiOptions = rng.pick<MmioMsiOptions>([MSI, SHARED, V3, false]);
    const { d, device } = driver(msi);
    const modes = msi === false ? ["none"] : msi.layout === "v3" ? ["per-queue", "per-queue-shared", "none"] : msi.sharing ? ["shared", "none"] : ["fixed", "none"];
    d.init({ msi: rng.pick(modes) as "fixed" });
    for (let step = rng.range(5, 60); step > 0; step--) {
      const q = rng.int(2);
      switch (rng.int(11)) {
        case 0: {
          const value = rng.chance(0.5) ? rng.int(16) : rng.chance(0.5) ? TEST_MSI_ADDR + rng.int(4) * 0x1000 : rng.u32();
          d.write32(rng.pick(REGS), value);
          break;
        }
        case 1:
        case 2:
          try {
            request(d, q, [rng.int(256), rng.int(256)]);
            d.notify(q);
          } catch {
            // no free descriptors after hostile steps: the driver side gave up, fine
          }
          break;
        case 3: d.runTasks(); break;
        case 4: device.queue(q)?.pop(); break; // a chain in flight at the save
        case 5: device.changeConfig(rng.int(8), rng.int(256)); break;
        case 6: if (d.lineHigh) d.handleLineInterrupt(); break;
        case 7:
          if (msi !== false && msi.layout === "2020") d.msiCommand(rng.pick([MSI_CMD.MASK, MSI_CMD.UNMASK]), rng.int(msi.vectors));
          if (msi !== false && msi.layout === "v3") d.targetControl(rng.int(3), rng.int(4));
          if (rng.chance(0.3)) {
            d.queueReset(q);
            if (rng.chance(0.5)) d.reenableQueue(q, 8);
          }
          break;
        case 8: d.write32("Status", rng.pick([0, 1, 3, 0x80, 0x4b, rng.int(256)])); break;
        case 9: if (d.queues[q]) d.setU16(d.queues[q].avail + 2, rng.int(0x10000)); break; // a lying driver: broken queue
        case 10: d.init({ msi: rng.pick(modes) as "fixed" }); break;
      }
    }
    const saved = d.transport.saveState();
    const { t: t2, d: d2 } = saveAndRestore(d, msi);
    expect(rewound(t2.saveState())).toEqual(rewound(saved));
    expect(visible(t2.state())).toEqual(visible(d.transport.state()));
    expect(d2.lineHigh).toBe(d.lineHigh);
    expect(d2.msiWrites).toEqual([]);
    d2.runTasks(); // the restore's notifies run without a fault
    expect(t2.counters.internalError + t2.counters.deviceThrew).toBe(0);
  });
});

describe("transport save: a long error text", () => {
  it("is cut to what a state may carry, so the state still restores", () => {
    const device = new EchoDevice({ queues: [16, 16], failActivate: "x".repeat(5000) });
    const d = new TestDriver({ device, msi: MSI, ramSize: RAM });
    d.init({ msi: "fixed" });
    const saved = d.transport.saveState();
    expect(saved.lastError!.length).toBe(1024);
    // Restored onto a device that refuses DRIVER_OK the same way: the same state, nothing sent.
    const again = new EchoDevice({ queues: [16, 16], failActivate: "x".repeat(5000) });
    const next = new TestDriver({ device: again, msi: MSI, ram: d.ram.slice() });
    next.continueFrom(d);
    next.transport.restoreState(JSON.parse(JSON.stringify(saved)));
    expect(next.transport.saveState()).toEqual(saved);
    expect(next.msiWrites).toEqual([]);
    expect(next.lineEvents).toEqual([]);
  });
});
