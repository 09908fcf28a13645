import { describe, expect, it } from "vitest";
import { pairRatios, percentile, stats } from "./stats.ts";

describe("bench stats", () => {
  it("median of odd and even counts, ignoring missing samples", () => {
    expect(stats([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(stats([4, Number.NaN, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
    expect(stats([]).n).toBe(0);
  });
  it("percentile by rank", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(10);
  });
  it("ratios pair samples by run and skip missing ones", () => {
    expect(pairRatios([2, 6, Number.NaN], [1, 3, 1])).toEqual([2, 2]);
  });
});

import { Section } from "./table.ts";

describe("bench table", () => {
  it("pairs samples by run for ratio columns", () => {
    const s = new Section("x", "X", [{ key: "a", label: "A" }, { key: "b", label: "B" }], [{ label: "A / B", num: "a", den: "b" }]);
    s.add("m", "ms", 0, "a", 0, 10);
    s.add("m", "ms", 0, "b", 0, 5);
    s.add("m", "ms", 0, "a", 1, 30);
    s.add("m", "ms", 0, "b", 1, 10);
    expect(s.summary()["m"]!.ratios["A / B"]!.median).toBe(2.5);
    expect(s.markdown()).toContain("| m | ms | 20 (10–30) | 8 (5–10) | 2.50 (2.00–3.00) |");
  });
});
