import { describe, expect, it } from "vitest";
import type { DeviceCounts } from "./device-counts.ts";
import { registerKind } from "./device-counts.ts";
import { stepFigures } from "./step-figures.ts";
import { STEPS, pingReplies } from "./workload.ts";

const step = (id: string) => STEPS.find((s) => s.id === id)!;
const counts = (c: Partial<DeviceCounts>): DeviceCounts => ({ accesses: 0, table: 0, perQueue: 0, status: 0, ack: 0, notify: 0, generation: 0, msis: 0, lineRaises: 0, ...c });

describe("stepFigures", () => {
  it("line: an interrupt costs its InterruptStatus read and ACK write, beside the request's notify", () => {
    const f = stepFigures(step("qd1"), {
      requests: 1000, bytes: 4096000, guestInterrupts: 1000, instructions: 12_000_000, hostMs: 500,
      counts: counts({ accesses: 3000, notify: 1000, status: 1000, ack: 1000, lineRaises: 1000 }),
    });
    expect(f).toMatchObject({
      requests: 1000, interruptsPerRequest: 1, guestInterruptsPerRequest: 1, accessesPerRequest: 3,
      accessesPerInterrupt: 2, statusReadsPerInterrupt: 1, instructionsPerRequest: 12_000, hostUsPerRequest: 500,
      throughput: 2000, throughputUnit: "IOPS",
    });
  });

  it("MSI: nothing but the notify; MB/s from the bytes for the sequential read", () => {
    const f = stepFigures(step("seq"), {
      requests: 32, bytes: 32 * 1048576, guestInterrupts: 32, instructions: 1, hostMs: 1000,
      counts: counts({ accesses: 32, notify: 32, msis: 32 }),
    });
    expect(f.accessesPerInterrupt).toBe(0);
    expect(f.statusReadsPerInterrupt).toBe(0);
    expect(f.throughput).toBeCloseTo(33.554, 3);
  });

  it("has no per-interrupt figure when nothing interrupted, and no per-request one without requests", () => {
    const f = stepFigures(step("ping"), { requests: 0, bytes: 0, guestInterrupts: 0, instructions: 0, hostMs: 10, counts: counts({}) });
    expect(f.accessesPerInterrupt).toBeNaN();
    expect(f.interruptsPerRequest).toBeNaN();
  });
});

describe("registerKind", () => {
  it("sorts the registers the comparison counts apart", () => {
    expect(registerKind("MsiVecSel")).toBe("table");
    expect(registerKind("MsiCmd")).toBe("table");
    expect(registerKind("QueueMsiControl")).toBe("perQueue");
    expect(registerKind("MsiVectorHint")).toBe("perQueue");
    expect(registerKind("QueueReset")).toBe("other");
    expect(registerKind("InterruptStatus")).toBe("status");
    expect(registerKind("InterruptACK")).toBe("ack");
    expect(registerKind("QueueNotify")).toBe("notify");
    expect(registerKind("QueueSel")).toBe("other");
  });
});

describe("pingReplies", () => {
  it("reads busybox's summary", () => {
    expect(pingReplies("--- 192.168.86.1 ping statistics ---\n50 packets transmitted, 49 packets received, 2% packet loss\n")).toBe(49);
    expect(pingReplies("ping: sendto: Network unreachable")).toBe(0);
  });
});
