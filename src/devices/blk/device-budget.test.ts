// A queue held back by the in-flight budget resumes by itself once there is room (found by the
// device-model fuzzer, seed src/fuzz/seeds/seed-1-op-32027.json): its driver notified
// once and will not again for chains already in the ring.

import { describe, expect, it } from "vitest";
import { TestDriver } from "../../testing/test-driver.ts";
import { BLK_S, BLK_T } from "./constants.ts";
import { BlockDevice } from "./device.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { DeferredBackend } from "../../testing/blk-deferred-backend.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const tick = () => new Promise((r) => setImmediate(r));

describe("BlockDevice: in-flight budget over several queues", () => {
  it("a queue notified while another filled the budget is served when room comes back", async () => {
    const backend = new DeferredBackend(MemoryBackend.blank(64 * 1024));
    const device = new BlockDevice({ backend, queueSize: 16, numQueues: 2, maxInFlightBytes: 4096 });
    const d = new TestDriver({ device });
    d.init();
    const read = (q: number, sector: number) => d.addChain(q, { readable: [requestHeader(BLK_T.IN, sector)], writable: [4096, 1] });
    read(0, 0);
    d.notify(0);
    const waiting = read(1, 8);
    d.notify(1);
    d.runTasks();
    expect(backend.waiting).toHaveLength(1); // queue 1's request stays in its ring: no room
    backend.releaseAll();
    await tick();
    // No second notify of queue 1: the device takes its request once queue 0's finished.
    expect(backend.waiting).toHaveLength(1);
    backend.releaseAll();
    await tick();
    d.runTasks();
    expect(d.takeUsed(1)).toEqual([{ id: waiting.head, len: 4097 }]);
    expect(d.ram[waiting.writable[1]!.addr]).toBe(BLK_S.OK);
    expect(d.takeUsed(0)).toHaveLength(1);
  });
});
