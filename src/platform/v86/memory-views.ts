// Cached views of v86's wasm memory: guest RAM, EFLAGS and the instruction counter
// (wasm-view.ts says why: v86's own views are Proxies that make a typed array per access).
// Nothing in v86 changes; the patch is the assumption that its Proxy views stand for fixed
// spots of `cpu.wasm_memory`, which selfCheck tests by comparing both readings.

import type { V86Cpu } from "./internals.ts";
import type { UninstallOutcome, V86Patch } from "./patch.ts";
import { WasmArrayView, cachedView } from "./wasm-view.ts";

export class MemoryViews implements V86Patch {
  readonly name = "memory-views";
  readonly #cpu: V86Cpu;
  #views: { ram: WasmArrayView<Uint8Array>; flags: WasmArrayView<Int32Array>; counter: WasmArrayView<Uint32Array> } | null = null;

  constructor(cpu: V86Cpu) {
    this.#cpu = cpu;
  }

  get installed(): boolean {
    return this.#views !== null;
  }

  install(): void {
    const cpu = this.#cpu;
    this.#views ??= {
      ram: cachedView(Uint8Array, cpu.wasm_memory, cpu.mem8),
      flags: cachedView(Int32Array, cpu.wasm_memory, cpu.flags),
      counter: cachedView(Uint32Array, cpu.wasm_memory, cpu.instruction_counter),
    };
  }

  uninstall(): UninstallOutcome {
    this.#views = null;
    return "nothing";
  }

  #need() {
    if (!this.#views) throw new Error("memory-views: not installed");
    return this.#views;
  }

  /** Guest RAM. */
  ram = (): Uint8Array => this.#need().ram.array;
  /** EFLAGS, one word. */
  flags = (): Int32Array => this.#need().flags.array;
  /** The instruction counter, one word. */
  counter = (): Uint32Array => this.#need().counter.array;

  /** Tells v86's JIT that guest RAM in [start, end) changed under it (a device's DMA write). */
  dirty = (start: number, end: number): void => this.#cpu.jit_dirty_cache(start, end);

  /** Views made again after a growth of the wasm memory. */
  get rebuilds(): number {
    const v = this.#views;
    return v ? v.ram.rebuilds + v.flags.rebuilds + v.counter.rebuilds : 0;
  }

  selfCheck(): string[] {
    const cpu = this.#cpu;
    const problems: string[] = [];
    if (typeof cpu.wasm_memory?.buffer?.byteLength !== "number") {
      problems.push("cpu.wasm_memory has no buffer");
      return problems;
    }
    if (!this.#views) return problems;
    // Both readings of the same spot agree: v86's Proxy and our cached view.
    if (this.counter()[0] !== cpu.instruction_counter[0]) problems.push("instruction_counter: the cached view and v86's differ");
    if (this.flags()[0] !== cpu.flags[0]) problems.push("flags: the cached view and v86's differ");
    if (this.ram().length !== cpu.mem8.length) problems.push(`mem8: ${cpu.mem8.length} bytes, the cached view ${this.ram().length}`);
    else if (this.ram()[0x7c00] !== cpu.mem8[0x7c00] || this.ram()[this.ram().length - 1] !== cpu.mem8[cpu.mem8.length - 1]) {
      problems.push("mem8: the cached view and v86's differ");
    }
    return problems;
  }
}
