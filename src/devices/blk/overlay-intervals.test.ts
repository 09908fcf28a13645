import { describe, expect, it } from "vitest";
import { Prng } from "../../testing/prng.ts";
import { IntervalSet } from "./overlay-intervals.ts";

const runs = (s: IntervalSet) => [...s];

describe("IntervalSet", () => {
  it("merges runs that overlap or touch, and counts members", () => {
    const s = new IntervalSet();
    s.add(10, 20);
    s.add(30, 40);
    expect(runs(s)).toEqual([[10, 20], [30, 40]]);
    s.add(20, 30); // touches both: one run
    expect(runs(s)).toEqual([[10, 40]]);
    s.add(5, 12);
    s.add(0, 1);
    expect(runs(s)).toEqual([[0, 1], [5, 40]]);
    expect(s.count).toBe(36);
    s.add(7, 7); // empty: nothing
    expect(s.runs).toBe(2);
  });

  it("removes from the middle (split), the ends, and across several runs", () => {
    const s = new IntervalSet();
    s.add(0, 100);
    s.remove(40, 60);
    expect(runs(s)).toEqual([[0, 40], [60, 100]]);
    s.remove(0, 10);
    s.remove(90, 200);
    expect(runs(s)).toEqual([[10, 40], [60, 90]]);
    s.remove(30, 70);
    expect(runs(s)).toEqual([[10, 30], [70, 90]]);
    expect(s.count).toBe(40);
    s.remove(200, 300); // nothing there
    expect(s.count).toBe(40);
  });

  it("answers membership, the end of a member's run and the next run's start", () => {
    const s = new IntervalSet();
    s.add(4, 8);
    s.add(12, 13);
    expect([3, 4, 7, 8, 12, 13].map((i) => s.has(i))).toEqual([false, true, true, false, true, false]);
    expect(s.runEnd(5)).toBe(8);
    expect(s.runEnd(8)).toBeNull();
    expect(s.nextStart(0)).toBe(4);
    expect(s.nextStart(8)).toBe(12);
    expect(s.nextStart(12)).toBe(Infinity);
  });

  it("one run for a whole-disk range, whatever its length", () => {
    const s = new IntervalSet();
    s.add(0, 262_144); // 1 GiB of 4 KiB blocks
    s.add(1000, 2000);
    expect(s.runs).toBe(1);
    expect(s.count).toBe(262_144);
  });

  it("agrees with a plain set over 20,000 random adds and removes", () => {
    const rng = new Prng(3);
    const s = new IntervalSet();
    const ref = new Set<number>();
    for (let n = 0; n < 20_000; n++) {
      const a = rng.int(300);
      const b = a + rng.int(rng.chance(0.1) ? 100 : 8);
      if (rng.chance(0.5)) {
        s.add(a, b);
        for (let i = a; i < b; i++) ref.add(i);
      } else {
        s.remove(a, b);
        for (let i = a; i < b; i++) ref.delete(i);
      }
      expect(s.count).toBe(ref.size);
    }
    for (let i = 0; i < 420; i++) expect(s.has(i)).toBe(ref.has(i));
    // Canonical: sorted, disjoint, never touching.
    const r = runs(s);
    for (let k = 1; k < r.length; k++) expect(r[k]![0]).toBeGreaterThan(r[k - 1]![1]);
  });
});
