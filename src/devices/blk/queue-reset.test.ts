// virtio-blk across a queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset", D10): a read
// still with the backend when its queue is reset completes into nothing, the other queue goes
// on, and the reset queue set up again works.

import { describe, expect, it } from "vitest";
import { FEATURE, MSI_TARGET_CONTROL } from "../../virtio/constants.ts";
import { TEST_MSI_ADDR, TestDriver, testPqData } from "../../testing/test-driver.ts";
import { BLK_S, BLK_T } from "./constants.ts";
import { BlockDevice } from "./device.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const tick = () => new Promise((r) => setImmediate(r));

function setup(maxInFlightBytes?: number) {
  const inner = new MemoryBackend(new Uint8Array(64 * 1024).map((_, i) => (i * 13 + 5) & 0xff));
  const backend = new DeferredBackend(inner);
  const dev = new BlockDevice({ backend, queueSize: 16, numQueues: 2, ...(maxInFlightBytes ? { maxInFlightBytes } : {}) });
  const d = new TestDriver({ device: dev, msi: { layout: "v3" } });
  expect(d.offeredFeatures() & (FEATURE.RING_RESET | FEATURE.MMIO_MSI)).toBe(FEATURE.RING_RESET | FEATURE.MMIO_MSI);
  d.init({ msi: "per-queue" });
  const read = (q: number, sector: number) => d.addChain(q, { readable: [requestHeader(BLK_T.IN, sector)], writable: [512, 1] });
  const write = (q: number, byte: number) => d.addChain(q, { readable: [requestHeader(BLK_T.OUT, 0), new Uint8Array(512).fill(byte)], writable: [1] });
  return { inner, backend, dev, d, read, write };
}

describe("BlockDevice: queue reset with I/O in flight (D10)", () => {
  it("a read in flight on the reset queue writes no guest memory, no used entry and no message; the other queue completes", async () => {
    const { backend, dev, d, read } = setup();
    const r0 = read(0, 1);
    const r1 = read(1, 2);
    d.notify(0);
    d.notify(1);
    d.runTasks();
    expect(backend.waiting).toHaveLength(2);
    const ramBefore = d.ram.slice();
    expect(d.queueReset(0)).toBe(0);
    expect(dev.inFlightRequests).toBe(1);
    expect(dev.counters.droppedByQueueReset).toBe(1);
    backend.releaseAll();
    await tick();
    d.runTasks();
    // Nothing of queue 0's read landed: its buffer still holds the driver's fill, no used entry.
    expect(Buffer.compare(d.ram.subarray(r0.writable[0]!.addr, r0.writable[0]!.addr + 513), ramBefore.subarray(r0.writable[0]!.addr, r0.writable[0]!.addr + 513))).toBe(0);
    expect(d.u16(d.queues[0]!.used + 2)).toBe(0);
    // Queue 1's read completed and was signalled on its own target.
    expect(d.takeUsed(1)).toEqual([{ id: r1.head, len: 513 }]);
    expect(d.ram[r1.writable[1]!.addr]).toBe(BLK_S.OK);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(2) }]);
    expect(dev.counters.inFlight).toBe(0);
    expect(dev.counters.inFlightBytes).toBe(0);
  });

  it("the reset queue set up again reads through its new ring; a write abandoned by the reset lands before a newer one", async () => {
    const { inner, backend, d, read, write } = setup();
    write(0, 1);
    d.notify(0);
    d.runTasks();
    d.queueReset(0);
    d.reenableQueue(0, 16);
    d.setTarget(1, TEST_MSI_ADDR, 0x71);
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
    const w2 = write(0, 2);
    d.notify(0);
    d.runTasks();
    // The new write waits behind the abandoned one (the backend cannot take it back).
    expect(backend.waiting.map((c) => c.op)).toEqual(["write"]);
    backend.waiting[0]!.release();
    await tick();
    backend.releaseAll();
    await tick();
    d.runTasks();
    expect(d.takeUsed(0)).toEqual([{ id: w2.head, len: 1 }]);
    expect(inner.bytes[0]).toBe(2);
    const r = read(0, 0);
    d.notify(0);
    d.runTasks();
    backend.releaseAll();
    await tick();
    d.runTasks();
    expect(d.takeUsed(0)).toEqual([{ id: r.head, len: 513 }]);
    expect(d.ram[r.writable[0]!.addr]).toBe(2);
    expect(d.msiWrites.at(-1)).toEqual({ addr: TEST_MSI_ADDR, data: 0x71 });
  });

  it("a notify or a completion for the reset queue before it is set up again changes nothing", async () => {
    const { backend, dev, d, read } = setup();
    read(0, 1);
    d.notify(0);
    d.runTasks();
    d.queueReset(0);
    d.notify(0);
    expect(d.transport.counters.errors.badNotify).toBe(1);
    backend.releaseAll();
    await tick();
    d.runTasks();
    expect(d.msiWrites).toEqual([]);
    expect(dev.counters.completed).toBe(0);
  });

  // Found by the fuzzer (src/fuzz/seeds/seed-99-op-174320.json): the reset resumed a queue held
  // back by the in-flight budget inside the QueueReset write, which then completed and sent.
  it("a queue held back by the budget resumes when the abandoned work settles, not inside the reset", async () => {
    const { backend, dev, d, read } = setup(512);
    read(0, 1);
    d.notify(0);
    d.runTasks();
    // GET_ID needs no backend: once queue 1 takes it, it completes at once.
    const id = d.addChain(1, { readable: [requestHeader(BLK_T.GET_ID, 0)], writable: [20, 1] });
    d.notify(1);
    d.runTasks();
    expect(d.takeUsed(1)).toEqual([]); // queue 1 waits for room
    d.queueReset(0);
    expect(d.msiWrites).toEqual([]);
    expect(d.takeUsed(1)).toEqual([]);
    backend.releaseAll(); // the abandoned read settles: queue 1 goes on
    await tick();
    d.runTasks();
    expect(d.takeUsed(1)).toEqual([{ id: id.head, len: 21 }]);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(2) }]);
    expect(dev.counters.inFlightBytes).toBe(0);
  });
});
