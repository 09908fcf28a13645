// I/O that a reset cannot take back: requests of the next life wait for it (found by the
// device-model fuzzer, seed src/fuzz/seeds/seed-4-op-195548.json).

import { describe, expect, it } from "vitest";
import { TestDriver } from "../../testing/test-driver.ts";
import { BLK_S, BLK_T } from "./constants.ts";
import { BlockDevice } from "./device.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const tick = () => new Promise((r) => setImmediate(r));

function setup() {
  const inner = MemoryBackend.blank(64 * 1024);
  const backend = new DeferredBackend(inner);
  const d = new TestDriver({ device: new BlockDevice({ backend, queueSize: 16 }) });
  d.init();
  const write = (byte: number) => d.addChain(0, { readable: [requestHeader(BLK_T.OUT, 0), new Uint8Array(512).fill(byte)], writable: [1] });
  return { inner, backend, d, write };
}

describe("BlockDevice: a reset with I/O in flight", () => {
  it("a write from before the reset cannot land over a newer one", async () => {
    const { inner, backend, d, write } = setup();
    write(1);
    d.notify(0);
    d.runTasks();
    expect(backend.waiting).toHaveLength(1);
    d.init(); // the driver resets and starts again; the old write is still with the backend
    const w2 = write(2);
    d.notify(0);
    d.runTasks();
    // The new write waits for the old one instead of racing it.
    expect(backend.waiting).toHaveLength(1);
    backend.waiting[0]!.release();
    await tick();
    expect(backend.waiting.map((c) => c.op)).toEqual(["write"]);
    backend.releaseAll();
    await tick();
    d.runTasks();
    expect(d.takeUsed(0)).toEqual([{ id: w2.head, len: 1 }]);
    expect(d.ram[w2.writable[0]!.addr]).toBe(BLK_S.OK);
    expect(inner.bytes[0]).toBe(2);
  });

  it("a flush after the reset waits for the old write, and does not wait for itself", async () => {
    const { backend, d, write } = setup();
    write(1);
    d.notify(0);
    d.runTasks();
    d.init();
    const f = d.addChain(0, { readable: [requestHeader(BLK_T.FLUSH, 0)], writable: [1] });
    d.notify(0);
    d.runTasks();
    expect(backend.waiting.map((c) => c.op)).toEqual(["write"]);
    for (let i = 0; i < 5 && backend.waiting.length > 0; i++) {
      backend.releaseAll();
      await tick();
    }
    d.runTasks();
    expect(d.takeUsed(0)).toEqual([{ id: f.head, len: 1 }]);
    expect(backend.calls.map((c) => c.op)).toEqual(["write", "flush"]);
  });

  it("without I/O in flight at the reset nothing waits", () => {
    const { backend, d, write } = setup();
    d.init();
    write(3);
    d.notify(0);
    d.runTasks();
    expect(backend.waiting.map((c) => c.op)).toEqual(["write"]);
  });
});
