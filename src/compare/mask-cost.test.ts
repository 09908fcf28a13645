import { describe, expect, it } from "vitest";
import { MSI_CMD, MSI_TARGET_CONTROL } from "../virtio/constants.ts";
import { maskCost, perCall } from "./mask-cost.ts";
import type { TraceEntry } from "./register-trace.ts";

const w = (reg: string, value: number): TraceEntry => ({ write: true, reg, value });

describe("maskCost", () => {
  it("counts the table's select + MASK, not the select of a CONFIGURE that follows (a free_irq as traced)", () => {
    const trace = [
      w("Status", 0), w("MsiCmd", MSI_CMD.DISABLE),
      w("MsiVecSel", 0), w("MsiCmd", MSI_CMD.MASK),
      w("MsiVecSel", 0), w("MsiAddrLow", 0), w("MsiAddrHigh", 0), w("MsiData", 0), w("MsiCmd", MSI_CMD.CONFIGURE),
      w("MsiVecSel", 1), w("MsiCmd", MSI_CMD.MASK),
    ];
    const c = maskCost(trace);
    expect(c.mask).toEqual({ commands: 2, accesses: 4 });
    expect(c.unmask).toEqual({ commands: 0, accesses: 0 });
    expect(perCall(c.mask, 2)).toBe(2);
  });

  it("counts every target's MASK when one shared v3 interrupt masks them all, with its select and read", () => {
    const r = (reg: string, value: number): TraceEntry => ({ write: false, reg, value });
    const on = MSI_TARGET_CONTROL.ENABLE;
    const trace = [
      w("QueueSel", 0), r("QueueMsiControl", on), w("QueueMsiControl", on | MSI_TARGET_CONTROL.MASK),
      w("QueueSel", 1), w("QueueMsiControl", on | MSI_TARGET_CONTROL.MASK),
      r("ConfigMsiControl", on), w("ConfigMsiControl", on | MSI_TARGET_CONTROL.MASK),
    ];
    const c = maskCost(trace);
    expect(c.mask).toEqual({ commands: 3, accesses: 7 });
    expect(perCall(c.mask, 1)).toBe(7);
  });

  it("tells UNMASK from MASK and ignores other commands, reads and selects of the other kind", () => {
    const trace: TraceEntry[] = [
      w("MsiVecSel", 2), w("MsiCmd", MSI_CMD.UNMASK),
      w("QueueSel", 3), w("MsiCmd", MSI_CMD.UNMASK), // a queue select does not select a vector
      { write: false, reg: "MsiCmd", value: MSI_CMD.MASK },
      w("QueueMsiData", 0x41),
      w("QueueSel", 0), w("QueueMsiControl", MSI_TARGET_CONTROL.ENABLE),
      w("QueueMsiControl", 0), // disabled, unmasked: neither
      w("MsiCmd", MSI_CMD.ENABLE),
    ];
    const c = maskCost(trace);
    expect(c.unmask).toEqual({ commands: 3, accesses: 5 });
    expect(c.mask).toEqual({ commands: 0, accesses: 0 });
  });

  it("has no cost per call without calls", () => {
    expect(perCall({ commands: 0, accesses: 0 }, 0)).toBeNaN();
  });
});
