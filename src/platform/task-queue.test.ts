import { describe, expect, it } from "vitest";
import { TaskQueue } from "./task-queue.ts";

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
});
