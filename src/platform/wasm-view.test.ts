import { describe, expect, it } from "vitest";
import { WasmWordsView } from "./wasm-view.ts";

describe("WasmWordsView", () => {
  it("keeps one view until the memory grows, then follows the new buffer", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const view = new WasmWordsView(memory, 64, 4);
    const first = view.words;
    first[1] = 0x1234;
    expect(view.words).toBe(first);
    expect(view.rebuilds).toBe(0);

    memory.grow(1);
    // The old view is detached by the growth; the new one sees the same bytes.
    expect(first.length).toBe(0);
    const second = view.words;
    expect(second).not.toBe(first);
    expect(second.length).toBe(4);
    expect(second[1]).toBe(0x1234);
    expect(new Int32Array(memory.buffer, 64, 4)[1]).toBe(0x1234);
    expect(view.rebuilds).toBe(1);
    expect(view.words).toBe(second);
  });

  it("refuses a view that is not word-aligned", () => {
    expect(() => new WasmWordsView(new WebAssembly.Memory({ initial: 1 }), 2, 4)).toThrow(/word-aligned/);
  });
});
