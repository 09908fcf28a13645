import { describe, expect, it } from "vitest";
import type { ModeFigures } from "./measure-mode.ts";
import type { StepFigures } from "./step-figures.ts";
import { cellText, summaryRows } from "./summary-rows.ts";
import { verdict, verdictFigures } from "./verdict.ts";

const step = (s: Partial<StepFigures> & Pick<StepFigures, "step">): StepFigures => ({
  requests: 100, interruptsPerRequest: 1, guestInterruptsPerRequest: 1, accessesPerRequest: 1, accessesPerInterrupt: 0,
  statusReadsPerInterrupt: 0, generationReadsPerInterrupt: 0, instructionsPerRequest: 12_000, hostUsPerRequest: 100, throughput: 10_000, throughputUnit: "IOPS", ...s,
});
const figures = (mode: ModeFigures["mode"], o: Partial<ModeFigures> = {}): ModeFigures => ({
  mode,
  observed: mode === "queue" || mode === "queue-shared" ? "queue" : mode === "line" ? "line" : "table",
  bootMs: 3000,
  setup: { bootAccesses: 170, bootMsiAccesses: 40, bindAccesses: 150, bindMsiAccesses: 40, bindVectorCommands: 5, unbindAccesses: 50 },
  mask: { interrupts: 5, accessesPerMask: 2, accessesPerUnmask: 2, commandsPerMask: 1 },
  steps: [step({ step: "qd1" }), step({ step: "seq", throughputUnit: "MB/s" }), step({ step: "ping", interruptsPerRequest: 2 })],
  ...o,
});

describe("summaryRows", () => {
  it("gives every mode a value in every row, n/a for the line's mask, and flags a fallback", () => {
    const line = figures("line", {
      mask: null,
      steps: [step({ step: "qd1", accessesPerRequest: 3, accessesPerInterrupt: 2, statusReadsPerInterrupt: 1 }), step({ step: "seq" }), step({ step: "ping" })],
    });
    const rows = summaryRows([figures("queue", { observed: "table" }), figures("table"), line]);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId["used"]!.values).toEqual({ queue: "vector table (fallback)", table: "vector table", line: "line" });
    expect(byId["acc-per-irq"]!.values["line"]).toBe(2);
    expect(cellText(byId["per-mask"]!.values["line"], 1)).toBe("n/a");
    expect(cellText(byId["per-mask"]!.values["table"], 1)).toBe("2.0");
    for (const r of rows) expect(Object.keys(r.values)).toEqual(["queue", "table", "line"]);
  });
});

describe("verdict", () => {
  it("says the I/O path costs the same when the counts agree, and which design masks a shared interrupt cheaper", () => {
    const q = verdictFigures(figures("queue", { setup: { ...figures("queue").setup, bindMsiAccesses: 60 } }));
    const t = verdictFigures(figures("table"));
    const qs = { ...q, accessesPerMask: 6, accessesPerInterrupt: 1 };
    const ts = { ...t, accessesPerMask: 2 };
    const text = verdict({ queue: q, table: t, "queue-shared": qs, "table-shared": ts });
    expect(text).toContain("On the I/O path the two designs cost the same: 1 interrupt and 1 register access per 4 KiB read, 0 per interrupt");
    expect(text).toContain("60 MSI register accesses with per-queue pairs against 40 with the table");
    expect(text).toContain("a mask costs 6 accesses in the per-queue mode");
    expect(text).toContain("there the table is cheaper, and taking an interrupt costs 1 register access against 0.");
  });

  it("says where they differ, and when one design is missing", () => {
    const t = verdictFigures(figures("table"));
    expect(verdict({ queue: { ...t, interruptsPerRequest: 2 }, table: t })).toContain("On the I/O path they differ");
    expect(verdict({ table: t })).toContain("not both measured");
  });
});
