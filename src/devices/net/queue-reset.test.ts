// virtio-net across a queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset", D10): receive
// chains the device holds from the reset ring are forgotten unfilled, waiting frames dropped,
// the other queues keep running, and the ring set up again receives.

import { describe, expect, it } from "vitest";
import { FEATURE, MSI_TARGET_CONTROL } from "../../virtio/constants.ts";
import { TEST_MSI_ADDR, TestDriver, testPqData } from "../../testing/test-driver.ts";
import { NET_F, NET_HDR_SIZE, QUEUE, bit } from "./constants.ts";
import { NetDevice } from "./device.ts";
import { CaptureBackend } from "../../testing/net-capture-backend.ts";
import { concat, ethFrame, txHeader } from "../../testing/net-frames.ts";

const OUR_MAC = "52:54:00:12:34:56";
const PEER = "52:54:00:01:02:03";

function setup() {
  const backend = new CaptureBackend();
  const dev = new NetDevice({ backend });
  const d = new TestDriver({ device: dev, msi: { layout: "v3" } });
  expect(d.offeredFeatures() & FEATURE.RING_RESET).toBe(FEATURE.RING_RESET);
  // MRG_RXBUF: a frame may be gathered over several buffers, which the device then holds.
  expect(d.init({ msi: "per-queue" }).ok).toBe(true);
  expect(d.transport.state().negotiatedFeatures & bit(NET_F.MRG_RXBUF)).toBe(bit(NET_F.MRG_RXBUF));
  return { dev, d, backend };
}

describe("NetDevice: queue reset (D10)", () => {
  it("rx held chains and waiting frames are dropped; nothing lands in the old ring; tx keeps running", () => {
    const { dev, d, backend } = setup();
    // Two small buffers for a large frame: the device takes both and waits for more.
    const small = [d.addChain(QUEUE.RX0, { writable: [64] }), d.addChain(QUEUE.RX0, { writable: [64] })];
    d.notify(QUEUE.RX0);
    d.runTasks();
    backend.inject(ethFrame(OUR_MAC, PEER, 1000));
    expect(dev.counters.backlogFrames).toBe(1);
    const ramBefore = d.ram.slice();
    d.queueReset(QUEUE.RX0);
    expect(dev.counters.queueResets).toBe(1);
    expect(dev.counters.backlogFrames).toBe(0);
    // Frames while rx is reset are dropped, and write nothing.
    backend.inject(ethFrame(OUR_MAC, PEER, 100));
    d.runTasks();
    for (const c of small) {
      const w = c.writable[0]!;
      expect(Buffer.compare(d.ram.subarray(w.addr, w.addr + w.len), ramBefore.subarray(w.addr, w.addr + w.len))).toBe(0);
    }
    expect(d.msiWrites).toEqual([]);
    // Transmit is untouched by rx's reset.
    const t = d.addChain(QUEUE.TX0, { readable: [concat(txHeader(), ethFrame(PEER, OUR_MAC, 60))] });
    expect(d.kick(QUEUE.TX0)).toEqual([{ id: t.head, len: 0 }]);
    expect(backend.sent).toHaveLength(1);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: testPqData(1 + QUEUE.TX0) }]);
  });

  it("rx set up again receives into its new ring and signals through its new pair", () => {
    const { d, backend } = setup();
    d.addChain(QUEUE.RX0, { writable: [64] });
    d.notify(QUEUE.RX0);
    d.runTasks();
    d.queueReset(QUEUE.RX0);
    d.reenableQueue(QUEUE.RX0, 256);
    d.setTarget(1 + QUEUE.RX0, TEST_MSI_ADDR, 0x7a);
    d.targetControl(1 + QUEUE.RX0, MSI_TARGET_CONTROL.ENABLE);
    const c = d.addChain(QUEUE.RX0, { writable: [2048] });
    d.notify(QUEUE.RX0);
    d.runTasks();
    const frame = ethFrame(OUR_MAC, PEER, 200);
    backend.inject(frame);
    d.runTasks();
    expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: c.head, len: NET_HDR_SIZE + frame.length }]);
    expect(d.read(c.writable[0]!.addr + NET_HDR_SIZE, frame.length)).toEqual(frame);
    expect(d.msiWrites).toEqual([{ addr: TEST_MSI_ADDR, data: 0x7a }]);
  });

  it("a reset tx queue stops taking frames until it is set up again; rx goes on", () => {
    const { d, backend } = setup();
    d.queueReset(QUEUE.TX0);
    d.notify(QUEUE.TX0);
    expect(d.transport.counters.errors.badNotify).toBe(1);
    const c = d.addChain(QUEUE.RX0, { writable: [2048] });
    d.notify(QUEUE.RX0);
    d.runTasks();
    backend.inject(ethFrame(OUR_MAC, PEER, 80));
    d.runTasks();
    expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: c.head, len: NET_HDR_SIZE + 80 }]);
    d.reenableQueue(QUEUE.TX0, 256);
    const t = d.addChain(QUEUE.TX0, { readable: [concat(txHeader(), ethFrame(PEER, OUR_MAC, 60))] });
    expect(d.kick(QUEUE.TX0)).toEqual([{ id: t.head, len: 0 }]);
    expect(backend.sent).toHaveLength(1);
  });
});

describe("NetDevice: restored in the middle of a queue reset", () => {
  // Found by the fuzzer (src/fuzz/seeds/seed-1-op-459702.json): a saved state with rx reset and
  // not yet set up again made the restored device refuse activation and send a config MSI.
  it("restores quietly, stays active, and the rx queue can then be set up again", () => {
    const { d } = setup();
    d.queueReset(QUEUE.RX0);
    const saved = JSON.parse(JSON.stringify(d.transport.saveState())) as unknown;
    const dev2 = new NetDevice({ backend: new CaptureBackend() });
    const d2 = new TestDriver({ device: dev2, msi: { layout: "v3" }, ram: d.ram.slice() });
    d2.continueFrom(d);
    d2.transport.restoreState(saved);
    d2.runTasks();
    expect(d2.msiWrites).toEqual([]);
    expect(d2.transport.state()).toMatchObject({ active: true, lastError: null });
    expect(d2.transport.state().queues[QUEUE.RX0]).toMatchObject({ ready: false, reopened: true });
    d2.reenableQueue(QUEUE.RX0, 256);
    const c = d2.addChain(QUEUE.RX0, { writable: [2048] });
    d2.notify(QUEUE.RX0);
    d2.runTasks();
    dev2.receive(ethFrame(OUR_MAC, PEER, 90));
    d2.runTasks();
    expect(d2.takeUsed(QUEUE.RX0)).toEqual([{ id: c.head, len: NET_HDR_SIZE + 90 }]);
  });
});
