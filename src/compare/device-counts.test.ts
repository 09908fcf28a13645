import { describe, expect, it } from "vitest";
import type { AttachedDevice } from "../platform/machine.ts";
import { MSI_PQ_CMD } from "../virtio/constants.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TestDriver } from "../testing/test-driver.ts";
import { deviceCounts, interruptsSent, subtractCounts } from "./device-counts.ts";
import { maskCost } from "./mask-cost.ts";
import { traceRegisters } from "./register-trace.ts";

// The real transport, driven through its registers: what the comparison reads off it.
function driver(msi: "per-queue" | "fixed" | "none") {
  const d = new TestDriver({ device: new EchoDevice({ queues: [64] }), msi: msi === "none" ? false : { vectors: 2, sharing: false, perQueue: true, pairsHint: 2 } });
  expect(d.init({ msi }).ok).toBe(true);
  const attached = { transport: d.transport } as unknown as AttachedDevice;
  const request = () => {
    d.addChain(0, { readable: [new Uint8Array([1, 2, 3])], writable: [3] });
    d.notify(0);
    d.runTasks();
    d.takeUsed(0);
  };
  return { d, attached, request };
}

describe("deviceCounts", () => {
  it("per-queue: setup on the per-queue registers, then one message and one notify per request", () => {
    const { attached, request } = driver("per-queue");
    const setup = deviceCounts(attached);
    expect(setup.perQueue).toBeGreaterThan(0);
    request();
    const one = subtractCounts(deviceCounts(attached), setup);
    expect(one).toMatchObject({ accesses: 1, notify: 1, status: 0, ack: 0, msis: 1, lineRaises: 0 });
    expect(interruptsSent(one)).toBe(1);
  });

  it("counts messages sent, not events: a masked target sends when unmasked", () => {
    const { d, attached, request } = driver("per-queue");
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    const before = deviceCounts(attached);
    request();
    expect(subtractCounts(deviceCounts(attached), before).msis).toBe(0);
    d.pqCommand(MSI_PQ_CMD.UNMASK, 1);
    expect(subtractCounts(deviceCounts(attached), before).msis).toBe(1);
  });

  it("the line: the handler's InterruptStatus read and ACK are counted apart", () => {
    const { d, attached, request } = driver("none");
    const before = deviceCounts(attached);
    request();
    d.read32("InterruptStatus");
    d.write32("InterruptACK", 1);
    expect(subtractCounts(deviceCounts(attached), before)).toMatchObject({ accesses: 3, notify: 1, status: 1, ack: 1, msis: 0, lineRaises: 1 });
  });
});

describe("traceRegisters", () => {
  it("records accesses with their values while installed, and leaves the transport as it was", () => {
    const { d, attached } = driver("per-queue");
    const own = Object.hasOwn(d.transport, "write");
    const trace = traceRegisters(attached);
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    d.pqCommand(MSI_PQ_CMD.UNMASK, 1);
    d.read32("MsiPqStatus");
    const entries = trace.take();
    expect(entries.map((e) => `${e.write ? "W" : "R"} ${e.reg} ${e.value}`)).toEqual([
      "W MsiPqSel 0", `W MsiPqCmd ${MSI_PQ_CMD.MASK}`, "W MsiPqSel 0", `W MsiPqCmd ${MSI_PQ_CMD.UNMASK}`, "R MsiPqStatus 1",
    ]);
    expect(maskCost(entries)).toEqual({ mask: { commands: 1, accesses: 2 }, unmask: { commands: 1, accesses: 2 } });
    expect(trace.take()).toEqual([]);
    trace.remove();
    expect(Object.hasOwn(d.transport, "write")).toBe(own);
    d.pqCommand(MSI_PQ_CMD.MASK, 1);
    expect(trace.take()).toEqual([]);
  });
});
