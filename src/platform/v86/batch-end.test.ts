import { describe, expect, it } from "vitest";
import { BATCH_END_STEP, BatchEnd } from "./batch-end.ts";

/** v86's batch test (cpu.rs do_many_cycles_native): runs while the unsigned advance is below its limit. */
const batchGoesOn = (counter: number, start: number) => ((counter - start) >>> 0) < 100_003;

describe("BatchEnd", () => {
  it("ends the batch the loop is in, and gives back exactly what it took", () => {
    const counter = new Uint32Array([123_456]);
    const end = new BatchEnd(() => counter);
    const start = 100_000;
    expect(batchGoesOn(counter[0]!, start)).toBe(true);
    end.request();
    expect(end.pending).toBe(true);
    expect(batchGoesOn(counter[0]!, start)).toBe(false);
    // compiled code adds its own count at its exit, on top of the advance
    counter[0] = (counter[0]! + 57) >>> 0;
    end.settle();
    expect(counter[0]).toBe(123_456 + 57);
    expect(end.pending).toBe(false);
  });

  it("requests before a settle advance once; a settle with nothing owed changes nothing", () => {
    const counter = new Uint32Array([5]);
    const end = new BatchEnd(() => counter);
    end.settle();
    expect(counter[0]).toBe(5);
    end.request();
    end.request();
    expect(counter[0]).toBe(5 + BATCH_END_STEP);
    expect(end.requests).toBe(1);
    end.settle();
    expect(counter[0]).toBe(5);
  });

  it("is exact across the counter's wrap at 2^32", () => {
    const start = 0xffff_ff00;
    const counter = new Uint32Array([start + 0x40]);
    const end = new BatchEnd(() => counter);
    end.request();
    expect(batchGoesOn(counter[0]!, start)).toBe(false);
    counter[0] = (counter[0]! + 0x100) >>> 0; // past the wrap
    end.settle();
    expect(counter[0]).toBe((start + 0x140) >>> 0);
  });
});
