import { describe, expect, it } from "vitest";
import type { AttachedDevice } from "../machine/machine.ts";
import { MSI_TARGET_CONTROL } from "../virtio/constants.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TestDriver } from "../testing/test-driver.ts";
import { deviceCounts, interruptsSent, subtractCounts } from "./device-counts.ts";
import { maskCost } from "./mask-cost.ts";
import { traceRegisters } from "./register-trace.ts";

// The real transport, driven through its registers: what the comparison reads off it.
function driver(msi: "per-queue" | "fixed" | "none") {
  const d = new TestDriver({ device: new EchoDevice({ queues: [64] }), msi: msi === "none" ? false : msi === "per-queue" ? { layout: "v3", hint: 2 } : { layout: "2020", vectors: 2, sharing: false } });
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
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    const before = deviceCounts(attached);
    request();
    expect(subtractCounts(deviceCounts(attached), before).msis).toBe(0);
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
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
    const { ENABLE, MASK } = MSI_TARGET_CONTROL;
    d.targetControl(1, ENABLE | MASK);
    d.targetControl(1, ENABLE);
    d.readTargetControl(1);
    const entries = trace.take();
    expect(entries.map((e) => `${e.write ? "W" : "R"} ${e.reg} ${e.value}`)).toEqual([
      "W QueueSel 0", `W QueueMsiControl ${ENABLE | MASK}`, "W QueueSel 0", `W QueueMsiControl ${ENABLE}`, "W QueueSel 0", `R QueueMsiControl ${ENABLE}`,
    ]);
    expect(maskCost(entries)).toEqual({ mask: { commands: 1, accesses: 2 }, unmask: { commands: 1, accesses: 2 } });
    expect(trace.take()).toEqual([]);
    trace.remove();
    expect(Object.hasOwn(d.transport, "write")).toBe(own);
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    expect(trace.take()).toEqual([]);
  });
});
