// The fuzzer against queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset", D10): a short run
// drives QueueReset in well-behaved, hostile and mode-change episodes with every invariant
// holding, and each planted fault of the reset's MSI side is caught.

import { afterEach, describe, expect, it, vi } from "vitest";
import { runFuzz } from "./fuzzer.ts";
import { InterruptDelivery } from "../virtio/interrupt-delivery.ts";
import { MsiPerQueue } from "../virtio/msi-per-queue.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the fuzzer and queue reset", () => {
  it("resets queues in every kind of episode and every invariant holds", { timeout: 60_000 }, async () => {
    const report = await runFuzz({ seed: 40, ops: 30_000 });
    expect(report.failure).toBeNull();
    expect(report.checkedFaults["transport.badQueueReset"] ?? 0).toBeGreaterThan(0);
  });

  it("catches a queue reset that forgets to return the queue's target to power-on", { timeout: 60_000 }, async () => {
    vi.spyOn(MsiPerQueue.prototype, "resetTarget").mockImplementation(() => {});
    const report = await runFuzz({ seed: 40, ops: 30_000 });
    expect(report.failure?.message).toMatch(/QueueMsi\w+ reads \d+ after the reset, not its power-on 0 \(D10\)/);
  });

  it("catches a queue reset that keeps the queue's undelivered event", { timeout: 60_000 }, async () => {
    const real = InterruptDelivery.prototype.queueReset;
    // The plant: the target is reset, but the record is told of no event to discard.
    vi.spyOn(InterruptDelivery.prototype, "queueReset").mockImplementation(function (this: InterruptDelivery, q) {
      real.call(this, q, { kind: "queue", queue: -1 });
    });
    const report = await runFuzz({ seed: 40, ops: 30_000 });
    expect(report.failure?.message).toMatch(/\(D10\)/);
  });
});
