// A state file is exactly as trusted as the guest's register writes: each rule is written once,
// beside its setter, and the restore's check calls it. For each rule: the register path counts
// a bad value under a counter, and a state file carrying the same bad value is refused with the
// rule's own words and that counter's name. And the interrupt mode's transition table.

import { describe, expect, it } from "vitest";
import { FEATURE, MSI_CMD, NO_VECTOR, STATUS } from "./constants.ts";
import { featuresRefusal, statusRefusal } from "./device-status.ts";
import { MODE_TRANSITIONS, modeMoveRefusal, msiFeatureRefusal, InterruptModeState, type MsiLayout } from "./interrupt-mode.ts";
import type { MmioMsiOptions } from "./mmio-transport.ts";
import { MsiTable, vectorRefusal } from "./msi-table.ts";
import { EventRecord } from "./event-record.ts";
import { RamMemory } from "./ram-memory.ts";
import { queueNumRefusal } from "./queue-config.ts";
import type { Refusal } from "./device-status.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TestDriver } from "../testing/test-driver.ts";
import type { TransportSavedState } from "./transport-state.ts";

const RAM = 1 << 20;
const FIXED: MmioMsiOptions = { layout: "2020", vectors: 3, sharing: false };
const SHARED: MmioMsiOptions = { layout: "2020", vectors: 2, sharing: true };
const V3: MmioMsiOptions = { layout: "v3" };

function driver(msi: MmioMsiOptions | false) {
  return new TestDriver({ device: new EchoDevice({ queues: [16, 16] }), msi, ramSize: RAM });
}

type Saved = Record<string, any>;

/** A running device's state, through JSON as a file carries it. */
function saved(msi: MmioMsiOptions | false, mode: "fixed" | "shared" | "per-queue" | "none"): Saved {
  const d = driver(msi);
  d.init({ msi: mode as "fixed" });
  return JSON.parse(JSON.stringify(d.transport.saveState())) as TransportSavedState;
}

/** What the check must say for `r` at `path`. */
function refusal(path: string, r: Refusal<string> | null): string {
  expect(r).not.toBeNull();
  return `saved transport state refused: ${path}: ${r!.why} (${r!.counter})`;
}

function restoreFails(msi: MmioMsiOptions | false, state: Saved): string {
  const d = driver(msi);
  try {
    d.transport.restoreState(state);
  } catch (e) {
    return (e as Error).message;
  }
  return "restored";
}

describe("each rule written once: the register path counts it, a state file is refused with it", () => {
  it("QueueNum: a power of two no larger than QueueNumMax", () => {
    for (const bad of [12, 32, 0]) {
      const d = driver(FIXED);
      d.init({ driverOk: false, queueSizes: [0, 0] });
      const before = d.transport.counters.errors.badQueueNum;
      d.write32("QueueSel", 0);
      d.write32("QueueNum", bad);
      expect(d.transport.counters.errors.badQueueNum).toBe(before + 1);

      const s = saved(FIXED, "fixed");
      s.queues[0].num = bad;
      expect(restoreFails(FIXED, s)).toBe(refusal("queues[0].num", queueNumRefusal(bad, 16)));
    }
  });

  it("Status: only the driver's bits, in the init order", () => {
    for (const bad of [STATUS.DRIVER, STATUS.ACKNOWLEDGE | STATUS.FEATURES_OK, 0x100 | STATUS.ACKNOWLEDGE]) {
      const d = driver(FIXED);
      d.write32("Status", bad);
      expect(d.transport.counters.errors.badStatus).toBe(1);
      expect(d.read32("Status")).toBe(0);

      const s = saved(FIXED, "fixed");
      s.status = bad;
      expect(restoreFails(FIXED, s)).toBe(refusal("status", statusRefusal(bad)));
    }
  });

  it("FEATURES_OK: offered features only, and VERSION_1", () => {
    const d = driver(FIXED);
    d.addStatus(STATUS.ACKNOWLEDGE);
    d.addStatus(STATUS.DRIVER);
    const without = d.offeredFeatures() & ~FEATURE.VERSION_1;
    d.writeDriverFeatures(without);
    expect(d.addStatus(STATUS.FEATURES_OK) & STATUS.FEATURES_OK).toBe(0);
    expect(d.transport.counters.errors.featuresRejected).toBe(1);

    const s = saved(FIXED, "fixed");
    s.driverFeatures = [Number(without & 0xffffffffn), Number(without >> 32n)];
    expect(restoreFails(FIXED, s)).toBe(refusal("driverFeatures", featuresRefusal(without, d.transport.offeredFeatures)));
  });

  it("the MSI vector: one of the table's (or NO_VECTOR for a mapping)", () => {
    const record = new EventRecord(2);
    const table = new MsiTable({ vectors: 2, sharing: true, queues: 2, memory: new RamMemory(new Uint8Array(4096)), record });
    table.selectVector(5);
    table.command(MSI_CMD.MAP_QUEUE, 0);
    expect(table.counters.badVector).toBe(1);
    expect(table.state().queueVectors[0]).toBe(NO_VECTOR);

    const s = saved(SHARED, "shared");
    s.msi.queueVectors[0] = 5;
    expect(restoreFails(SHARED, s)).toBe(refusal("msi.queueVectors[0]", vectorRefusal(5, 2, true)));
  });

  it("an MSI mode needs its negotiated feature: the 2020 table", () => {
    const d = driver(FIXED);
    d.init({ msi: "none" });
    const before = d.transport.counters.errors.msiWithoutFeature;
    d.msiCommand(MSI_CMD.ENABLE);
    expect(d.transport.counters.errors.msiWithoutFeature).toBe(before + 1);
    expect(d.transport.state().msiMode).toBe(null);

    const s = saved(FIXED, "none");
    s.msi.enabled = true;
    expect(restoreFails(FIXED, s)).toBe(refusal("msi.enabled", msiFeatureRefusal("table", false)));
  });

  it("an MSI mode needs its negotiated feature: the v3 targets", () => {
    const d = driver(V3);
    d.init({ msi: "none" });
    const before = d.transport.counters.errors.msiWithoutFeature;
    d.write32("MsiControl", 1);
    expect(d.transport.counters.errors.msiWithoutFeature).toBe(before + 1);
    expect(d.transport.state().msiMode).toBe(null);

    const s = saved(V3, "none");
    s.msiPerQueue.enabled = true;
    expect(restoreFails(V3, s)).toBe(refusal("msiPerQueue.enabled", msiFeatureRefusal("per-queue", false)));
  });

  it("a ring layout (size, alignment, inside RAM) is checked by the same checkLayout on QueueReady and on restore", () => {
    const d = driver(FIXED);
    d.init({ driverOk: false, queueSizes: [0, 0] });
    d.write32("QueueSel", 0);
    d.write32("QueueDescLow", 0x1002);
    d.write32("QueueDriverLow", 0x2000);
    d.write32("QueueDeviceLow", 0x3000);
    d.write32("QueueReady", 1);
    expect(d.transport.counters.errors.ringAlign).toBe(1);

    const s = saved(FIXED, "fixed");
    s.queues[0].desc = [0x1002, 0];
    expect(restoreFails(FIXED, s)).toBe("saved transport state refused: queues[0]: ring layout refused (ringAlign)");
  });
});

describe("the interrupt mode: one value, one transition table", () => {
  const layouts: MsiLayout[] = ["v3", "2020", null];

  it("the table: the line and the layout's own MSI mode, both ways; never the other layout's", () => {
    expect(MODE_TRANSITIONS).toEqual({
      none: { line: [], "per-queue": [], table: [] },
      v3: { line: ["per-queue"], "per-queue": ["line"], table: [] },
      "2020": { line: ["table"], table: ["line"], "per-queue": [] },
    });
    for (const layout of layouts) {
      const m = new InterruptModeState(layout);
      expect(m.move("table")).toBe(layout === "2020");
      expect(m.move("per-queue")).toBe(layout === "v3"); // never from table to per-queue
      expect(m.value).toBe(layout === "2020" ? "table" : layout === "v3" ? "per-queue" : "line");
      expect(m.move("table")).toBe(layout === "2020"); // never from per-queue to table
      m.reset(); // device reset: the line from any mode
      expect(m.value).toBe("line");
    }
    expect(modeMoveRefusal("2020", "table", "per-queue")).toEqual({ counter: "badModeMove", why: 'no move from table to per-queue with MSI layout "2020"' });
  });

  it("a saved state whose switches reach a mode its layout never enters is refused by the same table", () => {
    // A v3 device's state file edited to carry an enabled 2020 table: the v3 layout never enters table.
    const s = saved(V3, "per-queue");
    s.msiPerQueue.enabled = false;
    s.msi = { enabled: true };
    expect(restoreFails(V3, s)).toBe(refusal("msi.enabled", modeMoveRefusal("v3", "line", "table")));
    // A 2020 device's with both switches on: table, then per-queue, is not a move of the table.
    const t = saved(FIXED, "fixed");
    t.msiPerQueue = { enabled: true };
    expect(restoreFails(FIXED, t)).toBe(refusal("msiPerQueue.enabled", modeMoveRefusal("2020", "table", "per-queue")));
  });

  it("the UI's msiMode reads the one value", () => {
    for (const [msi, mode, want] of [[FIXED, "fixed", "table"], [V3, "per-queue", "per-queue"], [false, "none", null]] as const) {
      const d = driver(msi);
      d.init({ msi: mode as "fixed" });
      expect(d.transport.state().msiMode).toBe(want);
      expect(d.transport.state().interruptMode).toBe(want === null ? "line" : "msi");
      d.reset();
      expect(d.transport.state().msiMode).toBe(null);
    }
  });
});
