import { afterEach, describe, expect, it } from "vitest";
import { installChannelYield, type V86MainLoop } from "./tick-yield.ts";

/** A stand-in for v86's main-loop object with its tick bookkeeping (yield_callback ignores stale ticks). */
function fakeLoop() {
  const calls: string[] = [];
  const loop = {
    tick: 0,
    ran: [] as number[],
    yield(delay: number, tick: number) {
      calls.push(`v86 yield ${delay} ${tick}`);
    },
    yield_callback(tick: number) {
      if (tick === loop.tick) loop.ran.push(tick);
    },
    unregister_yield() {
      calls.push("v86 unregister");
    },
  };
  return { loop, calls };
}

describe("installChannelYield", () => {
  const g = globalThis as { window?: unknown };
  afterEach(() => {
    delete g.window;
  });

  it("does nothing outside a page (Node has setImmediate already)", () => {
    const { loop } = fakeLoop();
    expect(installChannelYield(loop)).toBeNull();
  });

  it("gives immediate turns through the channel, delayed ones to v86, and a stale tick is not run", async () => {
    g.window = {};
    const { loop, calls } = fakeLoop();
    const counters = installChannelYield(loop as Partial<V86MainLoop>)!;
    loop.tick = 1;
    loop.yield(0, 1);
    loop.yield(0, 0); // stale: v86 moved on to tick 1 before this was asked
    loop.yield(5, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(loop.ran).toEqual([1]);
    expect(calls).toEqual(["v86 yield 5 1"]);
    expect(counters).toEqual({ immediate: 2, delayed: 1 });
    loop.unregister_yield();
    expect(calls).toContain("v86 unregister");
    loop.yield(0, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(loop.ran).toEqual([1]); // the closed channel runs nothing more
  });

  it("refuses a loop object it does not know", () => {
    g.window = {};
    expect(installChannelYield({ yield: () => {} })).toBeNull();
  });
});
