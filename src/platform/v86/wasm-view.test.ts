import { describe, expect, it } from "vitest";
import { WasmArrayView, WasmWordsView, cachedView } from "./wasm-view.ts";

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

describe("WasmArrayView", () => {
  it("follows the memory's buffer for any element type, and matches the spot a v86 view describes", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const ram = cachedView(Uint8Array, memory, { byteOffset: 100, length: 50 });
    ram.array[3] = 7;
    expect(new Uint8Array(memory.buffer)[103]).toBe(7);
    const first = ram.array;
    memory.grow(2);
    expect(ram.array).not.toBe(first);
    expect(ram.array[3]).toBe(7);
    expect(ram.array.length).toBe(50);
    expect(ram.rebuilds).toBe(1);
  });

  it("refuses a spot not aligned to the element size", () => {
    expect(() => new WasmArrayView(Uint32Array, new WebAssembly.Memory({ initial: 1 }), 6, 1)).toThrow(/aligned to 4/);
  });
});
