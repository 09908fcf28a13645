import { describe, expect, it } from "vitest";
import { HOOK_SILENT_AFTER, TaskQueue } from "./task-queue.ts";

describe("TaskQueue", () => {
  it("runs tasks in order, once armed, including tasks queued by tasks", () => {
    const arms: Array<() => void> = [];
    const q = new TaskQueue((drain) => arms.push(drain), () => {});
    const order: number[] = [];
    q.schedule(() => order.push(1));
    q.schedule(() => {
      order.push(2);
      q.schedule(() => order.push(4));
    });
    q.schedule(() => order.push(3));
    expect(arms).toHaveLength(1);
    q.drain();
    expect(order).toEqual([1, 2, 3, 4]);
    expect(q.pending).toBe(0);
  });

  it("reports a throwing task and keeps going", () => {
    const errors: unknown[] = [];
    const q = new TaskQueue(() => {}, (e) => errors.push(e));
    let ran = false;
    q.schedule(() => {
      throw new Error("x");
    });
    q.schedule(() => (ran = true));
    q.drain();
    expect(errors).toHaveLength(1);
    expect(ran).toBe(true);
  });

  it("yields after a bounded number of tasks when a task keeps requeueing itself", () => {
    const arms: Array<() => void> = [];
    const q = new TaskQueue((drain) => arms.push(drain), () => {});
    const again = (): void => q.schedule(again);
    q.schedule(again);
    q.drain();
    expect(q.pending).toBe(1);
    expect(arms).toHaveLength(2);
  });

  it("counts drains by the timer hook and by the host-task fallback apart", () => {
    const arms: Array<() => void> = [];
    const q = new TaskQueue((drain) => arms.push(drain), () => {});
    q.drainFromHook(); // nothing pending: a call, not a drain
    q.schedule(() => {});
    q.drainFromHook();
    expect(q.pending).toBe(0);
    arms.shift()!(); // the fallback fires after the hook has already drained: not counted
    q.schedule(() => {});
    arms.shift()!();
    expect(q.pending).toBe(0);
    expect({ calls: q.hookCalls, hook: q.hookDrains, host: q.hostDrains, ran: q.ran }).toEqual({ calls: 2, hook: 1, host: 1, ran: 2 });
  });

  it("reports a silent timer hook once the fallback alone has drained HOOK_SILENT_AFTER times in a row", () => {
    const arms: Array<() => void> = [];
    const silent: number[] = [];
    const q = new TaskQueue((drain) => arms.push(drain), () => {}, { onHookSilent: (n) => silent.push(n) });
    const hostDrains = (n: number) => {
      for (let i = 0; i < n; i++) {
        q.schedule(() => {});
        arms.shift()!();
      }
    };
    hostDrains(HOOK_SILENT_AFTER - 1);
    expect(silent).toEqual([]);
    q.drainFromHook(); // the hook ran: the count starts again
    hostDrains(HOOK_SILENT_AFTER - 1);
    expect(silent).toEqual([]);
    hostDrains(2);
    expect(silent).toEqual([HOOK_SILENT_AFTER, HOOK_SILENT_AFTER + 1]);
    expect(q.hookCalls).toBe(1);
    expect(q.hostDrains).toBe(2 * HOOK_SILENT_AFTER);
  });
});
