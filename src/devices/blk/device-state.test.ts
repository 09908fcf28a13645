// Save and restore of a running virtio-blk disk with its transport, as a machine-level save
// will do it: the guest's RAM and the disk's bytes copied, the transport's and the device's
// states through JSON, a fresh transport, device and backend restored from them. Each
// interrupt mode: a completion's event held (masked vector, masked target, unacknowledged
// line) at the save arrives exactly once after; data written before and after is byte-exact.

import { describe, expect, it } from "vitest";
import { MSI_CMD, MSI_TARGET_CONTROL } from "../../virtio/constants.ts";
import type { MmioMsiOptions } from "../../virtio/mmio-transport.ts";
import { TEST_MSI_ADDR, TestDriver, testMsiData, testPqData, type AddedChain } from "../../testing/test-driver.ts";
import type { BlockBackend } from "./backend.ts";
import { BLK_S, BLK_T } from "./constants.ts";
import { restoreBlockState, saveBlockState } from "./device-state.ts";
import { BlockDevice } from "./device.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const DISK = 256 * 1024;
const MSI: MmioMsiOptions = { layout: "2020", vectors: 2, sharing: false };
const V3: MmioMsiOptions = { layout: "v3" };
const fill = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff);

function machine(image: Uint8Array, msi: MmioMsiOptions | false, ram?: Uint8Array, wrap?: (b: BlockBackend) => BlockBackend) {
  const mem = new MemoryBackend(image);
  const dev = new BlockDevice({ backend: wrap ? wrap(mem) : mem, serial: "saved-disk" });
  const d = new TestDriver({ device: dev, msi, ...(ram ? { ram } : { ramSize: 2 << 20 }) });
  return { d, dev, image };
}

function write(d: TestDriver, sector: number, data: Uint8Array): AddedChain {
  return d.addChain(0, { readable: [requestHeader(BLK_T.OUT, sector), data], writable: [1] });
}
function read(d: TestDriver, sector: number, len: number): AddedChain {
  return d.addChain(0, { readable: [requestHeader(BLK_T.IN, sector)], writable: [len, 1] });
}
function statusOf(d: TestDriver, c: AddedChain): number {
  const s = c.writable.at(-1)!;
  return d.read(s.addr, 1)[0]!;
}

type Mode = "table" | "per-queue" | "line";
const MODES: Mode[] = ["table", "per-queue", "line"];

/** Holds the queue's next event: masks its vector or target; on the line, simply does not ACK. */
function holdEvents(d: TestDriver, mode: Mode): void {
  if (mode === "table") d.msiCommand(MSI_CMD.MASK, 1);
  if (mode === "per-queue") d.targetControl(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
}
function releaseEvents(d: TestDriver, mode: Mode): void {
  if (mode === "table") d.msiCommand(MSI_CMD.UNMASK, 1);
  if (mode === "per-queue") d.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
  if (mode === "line") d.handleLineInterrupt();
}
/** The interrupts the guest saw, in its mode's terms. */
function interrupts(d: TestDriver, mode: Mode): unknown[] {
  return mode === "line" ? d.lineEvents.filter((e) => e === "raise") : d.msiWrites;
}
const queueMessage = (mode: Mode) =>
  mode === "table" ? { addr: TEST_MSI_ADDR, data: testMsiData(1) } : mode === "per-queue" ? { addr: TEST_MSI_ADDR, data: testPqData(1) } : "raise";

describe("virtio-blk save and restore", () => {
  it.each(MODES)("%s: held event once after the restore, data byte-exact, nothing done twice", (mode) => {
    const msi = mode === "line" ? false : mode === "table" ? MSI : V3;
    const a = machine(new Uint8Array(DISK), msi);
    expect(a.d.init({ msi: mode === "line" ? "none" : mode === "table" ? "fixed" : "per-queue" }).ok).toBe(true);
    const first = fill(4096, 1);
    const w1 = write(a.d, 8, first);
    expect(a.d.kick(0)).toEqual([{ id: w1.head, len: 1 }]);
    if (mode === "line") a.d.handleLineInterrupt();
    holdEvents(a.d, mode);
    const second = fill(1024, 2);
    const w2 = write(a.d, 64, second);
    a.d.notify(0);
    a.d.runTasks();
    const seenBefore = interrupts(a.d, mode).length;

    // The save: device quiet, then disk bytes, RAM, and the two states through JSON.
    const json = JSON.stringify({ transport: a.d.transport.saveState(), blk: saveBlockState(a.dev) });
    const b = machine(a.image.slice(), msi, a.d.ram.slice());
    b.d.continueFrom(a.d);
    const state = JSON.parse(json) as { transport: unknown; blk: unknown };
    restoreBlockState(b.dev, state.blk);
    b.d.transport.restoreState(state.transport);
    b.d.runTasks();
    expect(b.dev.counters.completed).toBe(0); // nothing redone

    expect(interrupts(b.d, mode)).toEqual(mode === "line" ? ["raise"] : []);
    releaseEvents(b.d, mode);
    if (mode !== "line") {
      expect(interrupts(b.d, mode)).toEqual([queueMessage(mode)]);
      releaseEvents(b.d, mode); // a second UNMASK sends nothing more
      expect(interrupts(b.d, mode)).toHaveLength(1);
    }
    expect(b.d.takeUsed(0)).toEqual([{ id: w2.head, len: 1 }]);
    expect(statusOf(b.d, w2)).toBe(BLK_S.OK);

    // After the restore: new writes and reads of the old and new data.
    const third = fill(2048, 3);
    const w3 = write(b.d, 100, third);
    const r1 = read(b.d, 8, 4096);
    const r2 = read(b.d, 64, 1024);
    expect(b.d.kick(0).map((u) => u.id)).toEqual([w3.head, r1.head, r2.head]);
    expect(b.d.read(r1.writable[0]!.addr, 4096)).toEqual(first);
    expect(b.d.read(r2.writable[0]!.addr, 1024)).toEqual(second);
    expect(b.image.subarray(100 * 512, 100 * 512 + 2048)).toEqual(third);
    expect(b.dev.counters.completed).toBe(3);
    expect(b.dev.counters.bytesWritten).toBe(2048);
    // The old machine is untouched by all this: its disk has no third write.
    expect(a.image.subarray(100 * 512, 100 * 512 + 2048).every((x) => x === 0)).toBe(true);
    expect(seenBefore).toBeGreaterThan(0);
  });

  it("a save with a request in flight is refused; after quiesce() it is taken and restores", async () => {
    let deferred: DeferredBackend | undefined;
    const a = machine(new Uint8Array(DISK), MSI, undefined, (m) => (deferred = new DeferredBackend(m)));
    a.d.init({ msi: "fixed" });
    const data = fill(512, 9);
    const w = write(a.d, 3, data);
    a.d.notify(0);
    a.d.runTasks();
    expect(a.dev.inFlightRequests).toBe(1);
    expect(() => saveBlockState(a.dev)).toThrow(/blk0: 1 request\(s\) in flight: await quiesce\(\) before saving/);
    const quiet = a.dev.quiesce();
    deferred!.releaseAll();
    await quiet;
    a.d.runTasks();
    expect(a.dev.inFlightRequests).toBe(0);
    const blk = saveBlockState(a.dev);
    const transport = a.d.transport.saveState();
    const b = machine(a.image.slice(), MSI, a.d.ram.slice());
    b.d.continueFrom(a.d);
    restoreBlockState(b.dev, blk);
    b.d.transport.restoreState(transport);
    b.d.runTasks();
    expect(b.d.takeUsed(0)).toEqual([{ id: w.head, len: 1 }]);
    expect(b.image.subarray(3 * 512, 4 * 512)).toEqual(data);
    expect(b.dev.counters.completed).toBe(0);
  });

  it("a state of another disk or another kind is refused before the transport is touched", () => {
    const a = machine(new Uint8Array(DISK), MSI);
    a.d.init({ msi: "fixed" });
    const blk = JSON.parse(JSON.stringify(saveBlockState(a.dev))) as Record<string, unknown>;
    const other = new BlockDevice({ backend: MemoryBackend.blank(2 * DISK) });
    expect(() => restoreBlockState(other, blk)).toThrow(/refused for blk0: (features|config)/);
    const ro = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(DISK), { readOnly: true }) });
    expect(() => restoreBlockState(ro, blk)).toThrow(/refused for blk0: features/);
    expect(() => restoreBlockState(a.dev, { ...blk, kind: "virtio-net" })).toThrow(/kind: expected "virtio-blk"/);
    expect(() => restoreBlockState(a.dev, { ...blk, version: 0 })).toThrow(/version: expected 1, got 0/);
    expect(() => restoreBlockState(a.dev, { ...blk, config: "00" })).toThrow(/config: another disk/);
    expect(() => restoreBlockState(a.dev, { ...blk, extra: true })).toThrow(/extra: unknown field/);
    expect(() => restoreBlockState(a.dev, null)).toThrow(/expected an object/);
    restoreBlockState(new BlockDevice({ backend: MemoryBackend.blank(DISK), serial: "another serial" }), blk);

  });
});
