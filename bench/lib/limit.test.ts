import { describe, expect, it } from "vitest";
import { addLimitRows, efficiency, instructionRate, limitPerSecond } from "./limit.ts";
import { Section } from "./table.ts";

describe("the emulator's limit for a workload", () => {
  it("takes the rate from a timed loop: 160 M instructions in 0.4 s is 400 M per second", () => {
    expect(instructionRate(160e6, 0.4e9)).toBeCloseTo(400e6, 0);
  });

  it("divides the rate by the instructions per unit: 400 M/s at 10 k per read allows 40 000 reads/s", () => {
    expect(limitPerSecond(400e6, 10e3)).toBeCloseTo(40_000, 6);
  });

  it("gives achieved over limit: 28 000 of 40 000 reads/s is 0.7", () => {
    expect(efficiency(28_000, 40_000)).toBeCloseTo(0.7, 12);
  });

  it("has no figure where a measurement is missing or empty", () => {
    expect(instructionRate(0, 1e9)).toBeNaN();
    expect(instructionRate(1e6, 0)).toBeNaN();
    expect(limitPerSecond(Number.NaN, 10)).toBeNaN();
    expect(limitPerSecond(400e6, 0)).toBeNaN();
    expect(efficiency(100, Number.NaN)).toBeNaN();
    expect(efficiency(Number.NaN, 100)).toBeNaN();
  });

  it("adds a limit row in the workload's unit and an efficiency row per variant", () => {
    const s = new Section("disk", "Disk", [{ key: "msi", label: "MSI" }, { key: "ide", label: "IDE" }], [{ label: "MSI / IDE", num: "msi", den: "ide" }]);
    // 150 k instructions per MB at 300 M instructions/s: at most 2000 MB/s.
    addLimitRows(s, 300e6, { name: "sequential read", unit: "MB/s", digits: 1, achieved: 1500, instructionsPerUnit: 150e3 }, "msi", 0);
    addLimitRows(s, 300e6, { name: "sequential read", unit: "MB/s", digits: 1, achieved: 500, instructionsPerUnit: 200e3 }, "ide", 0);
    const [limit, eff] = s.rows;
    expect(limit!.name).toBe("Limit, sequential read (emulator speed ÷ guest instructions)");
    expect(limit!.unit).toBe("MB/s");
    expect(limit!.samples).toEqual({ msi: [2000], ide: [1500] });
    expect(eff!.samples.msi![0]).toBeCloseTo(0.75, 12);
    expect(eff!.samples.ide![0]).toBeCloseTo(1 / 3, 12);
    expect(s.markdown()).toContain("| Efficiency, sequential read (achieved ÷ limit) |  | 0.75 | 0.33 | 2.25 |");
  });
});
