// The panel's MSI rows and the mode in use, read from a real MmioTransport and block device
// that the driver-side TestDriver sets up in each mode, as Linux does.

import { describe, expect, it } from "vitest";
import { MSI_TARGET_CONTROL } from "../virtio/constants.ts";
import { TestDriver, TEST_MSI_ADDR, testMsiData, testPqData } from "../testing/test-driver.ts";
import { BLK_T } from "../devices/blk/constants.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { requestHeader } from "../testing/blk-request-header.ts";
import { irqModeOf, summariseIrqModes } from "./irq-mode.ts";
import { msiRows, queueName } from "./msi-rows.ts";

/** A block device in one of the two MSI layouts (v3, the default of the page and the CLI, or 2020). */
function blockDriver(layout: "v3" | "2020" = "v3"): TestDriver {
  const device = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(64 * 1024)) });
  return new TestDriver({ device, msi: layout === "v3" ? { layout, hint: 2 } : { layout, vectors: 2, sharing: false } });
}

/** One 512-byte read, completed: the device signals queue 0. */
function read(d: TestDriver): void {
  d.addChain(0, { readable: [requestHeader(BLK_T.IN, 0)], writable: [512, 1] });
  d.kick(0);
}

describe("the MSI mode in use and its rows", () => {
  it("says nothing is in use before the driver is ready, then the line when it took no MSI", () => {
    const d = blockDriver();
    expect(irqModeOf(d.transport.state())).toBe("none");
    expect(msiRows(d)).toBeNull();
    d.init({ msi: "none" });
    read(d);
    expect(irqModeOf(d.transport.state())).toBe("line");
    expect(msiRows(d)).toBeNull();
  });

  it("shows the table's vectors, the events mapped to each and their messages", () => {
    const d = blockDriver("2020");
    d.init({ msi: "fixed" });
    read(d);
    read(d);
    expect(irqModeOf(d.transport.state())).toBe("table");
    const rows = msiRows(d)!;
    expect(rows.mode).toBe("table");
    expect(rows.rows.map((r) => [r.index, r.events, r.addrLow, r.data, r.sent])).toEqual([
      [0, "config", TEST_MSI_ADDR, testMsiData(0), 0],
      [1, "req.0", TEST_MSI_ADDR, testMsiData(1), 2],
    ]);
    expect(rows.rows[1]!.enabled).toBeUndefined();
  });

  it("shows the per-queue mode's targets, each with its own pair, enable, mask and pending bit", () => {
    const d = blockDriver();
    d.init({ msi: "per-queue" });
    read(d);
    expect(irqModeOf(d.transport.state())).toBe("queue");
    let rows = msiRows(d)!;
    expect(rows.mode).toBe("queue");
    expect(rows.pairsHint).toBe(2);
    expect(rows.rows.map((r) => [r.index, r.events, r.data, r.enabled, r.masked, r.pending, r.sent])).toEqual([
      [0, "config", testPqData(0), true, false, false, 0],
      [1, "req.0", testPqData(1), true, false, false, 1],
    ]);
    // Masked, the queue's next event waits in its pending bit instead of being sent.
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    read(d);
    rows = msiRows(d)!;
    expect(rows.rows[1]).toMatchObject({ masked: true, pending: true, sent: 1 });
    d.targetControl(1, MSI_TARGET_CONTROL.ENABLE);
    expect(msiRows(d)!.rows[1]).toMatchObject({ masked: false, pending: false, sent: 2 });
  });

  it("follows the driver from MSI back to the line and again on the same device", () => {
    for (const [layout, msi, mode] of [["v3", "per-queue", "queue"], ["2020", "fixed", "table"]] as const) {
      const d = blockDriver(layout);
      d.init({ msi });
      expect(irqModeOf(d.transport.state())).toBe(mode);
      d.init({ msi: "none" });
      expect(irqModeOf(d.transport.state())).toBe("line");
      d.init({ msi });
      expect(irqModeOf(d.transport.state())).toBe(mode);
    }
  });

  it("names queues as Linux's drivers do", () => {
    expect([0, 1, 2].map((q) => queueName(1, q, 3))).toEqual(["input.0", "output.0", "control"]);
    expect([0, 1, 2, 3].map((q) => queueName(1, q, 4))).toEqual(["input.0", "output.0", "input.1", "output.1"]);
    expect(queueName(2, 3, 4)).toBe("req.3");
    expect(queueName(0x7f, 1, 2)).toBe("queue 1");
  });

  it("sums a VM's modes up for its status line, saying when the driver took another than asked", () => {
    const one = (mode: "queue" | "table" | "line" | "none") => [{ name: "blk0", mode }, { name: "net0", mode }];
    expect(summariseIrqModes(one("queue"), "queue")).toEqual({ text: "per-queue MSI", mode: "queue" });
    expect(summariseIrqModes(one("table"), "table")).toEqual({ text: "vector-table MSI", mode: "table" });
    expect(summariseIrqModes(one("table"), "queue")).toEqual({ text: "vector-table MSI (asked for per-queue MSI)", mode: "table" });
    expect(summariseIrqModes(one("line"), "line")).toEqual({ text: "line interrupt", mode: "line" });
    expect(summariseIrqModes(one("none"), "queue").mode).toBe("none");
    expect(summariseIrqModes([{ name: "blk0", mode: "queue" }, { name: "net0", mode: "table" }], "queue")).toEqual({
      text: "blk0 per-queue MSI, net0 vector-table MSI",
      mode: "mixed",
    });
    // A device still without its driver does not count.
    expect(summariseIrqModes([{ name: "blk0", mode: "queue" }, { name: "net0", mode: "none" }], "queue").mode).toBe("queue");
  });
});
