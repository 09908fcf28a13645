import { describe, expect, it } from "vitest";
import { measured, panelCost } from "./panel-cost.ts";

describe("panel cost meter", () => {
  it("books each render and its script time, also when the render throws", () => {
    const before = { ...panelCost };
    measured(() => {
      const end = performance.now() + 5;
      while (performance.now() < end);
    });
    expect(() => measured(() => { throw new Error("render failed"); })).toThrow("render failed");
    expect(panelCost.renders - before.renders).toBe(2);
    expect(panelCost.scriptMs - before.scriptMs).toBeGreaterThanOrEqual(5);
  });
});
