import { afterEach, describe, expect, it } from "vitest";
import { BATCH_END_STEP, BatchEndPatch } from "./batch-end.ts";
import type { V86Cpu } from "./internals.ts";
import { MethodSwap } from "./patch.ts";
import { ChannelYield } from "./tick-yield.ts";
import { TimerHook } from "./timer-hook.ts";

class FakeCpu {
  calls: string[] = [];
  instruction_counter = new Uint32Array(1);
  run_hardware_timers(_acpi: boolean, _now: number): number {
    this.calls.push("v86 timers");
    return 7;
  }
  reboot_internal(): void {
    this.calls.push(`v86 reboot at ${this.instruction_counter[0]}`);
    this.instruction_counter[0] = 0;
  }
}

describe("MethodSwap", () => {
  it("puts v86's prototype method back by removing our own property", () => {
    const cpu = new FakeCpu();
    const swap = new MethodSwap(cpu, "run_hardware_timers");
    swap.install(() => () => 1);
    expect(Object.hasOwn(cpu, "run_hardware_timers")).toBe(true);
    expect(swap.live).toBe(true);
    expect(swap.uninstall()).toBe("restored");
    expect(Object.hasOwn(cpu, "run_hardware_timers")).toBe(false);
    expect(cpu.run_hardware_timers(false, 0)).toBe(7);
    expect(swap.uninstall()).toBe("nothing");
  });

  it("refuses a second install and a missing method", () => {
    const swap = new MethodSwap(new FakeCpu(), "run_hardware_timers");
    swap.install((f) => f);
    expect(() => swap.install((f) => f)).toThrow(/already patched/);
    expect(() => new MethodSwap({} as { f?: () => void }, "f").install((f) => f)).toThrow(/not a function/);
  });
});

describe("TimerHook", () => {
  it("runs our work first, then v86's; detach leaves a hook someone installed after us and counts it", () => {
    const cpu = new FakeCpu();
    const hook = new TimerHook(cpu as unknown as V86Cpu, () => cpu.calls.push("ours"));
    hook.install();
    expect(cpu.run_hardware_timers(true, 1)).toBe(7);
    expect(cpu.calls).toEqual(["ours", "v86 timers"]);
    expect(hook.calls).toBe(1);
    expect(hook.selfCheck()).toEqual([]);
    // Someone else wraps the hook after us (as a second attach used to).
    const ourHook = cpu.run_hardware_timers;
    const theirs = (a: boolean, n: number) => (cpu.calls.push("theirs"), ourHook.call(cpu, a, n));
    cpu.run_hardware_timers = theirs;
    expect(hook.live).toBe(false);
    expect(hook.selfCheck()).toEqual(["cpu.run_hardware_timers was replaced by someone else after us"]);
    expect(hook.uninstall()).toBe("displaced");
    expect(hook.displaced).toBe(1);
    expect(cpu.run_hardware_timers).toBe(theirs);
  });
});

describe("BatchEndPatch", () => {
  it("a reboot inside a batch that holds an advance leaves the counter where v86 put it, not at 0xC0000000", () => {
    const cpu = new FakeCpu();
    cpu.instruction_counter[0] = 5_000_000;
    const patch = new BatchEndPatch(cpu as unknown as V86Cpu, () => cpu.instruction_counter);
    patch.install();
    patch.batchEnd.request();
    expect(cpu.instruction_counter[0]).toBe(5_000_000 + BATCH_END_STEP);
    cpu.instruction_counter[0]! += 12; // the rest of the guest's instruction
    cpu.reboot_internal(); // e.g. the keyboard controller's reset line, in the same batch
    expect(cpu.calls).toEqual(["v86 reboot at 5000012"]); // v86 saw the true count
    cpu.instruction_counter[0]! += 30; // the first instructions after the reset
    patch.batchEnd.settle(); // the timer hook at the batch's end
    expect(cpu.instruction_counter[0]).toBe(30);
    expect(patch.rebootsWhilePending).toBe(1);
    expect(patch.uninstall()).toBe("restored");
    expect(Object.hasOwn(cpu, "reboot_internal")).toBe(false);
  });

  it("without the patch the same sequence ends at 0xC0000000 (what the guard is for)", () => {
    const cpu = new FakeCpu();
    const patch = new BatchEndPatch(cpu as unknown as V86Cpu, () => cpu.instruction_counter);
    patch.batchEnd.request(); // not installed: v86's reboot is not guarded
    cpu.reboot_internal();
    patch.batchEnd.settle();
    expect(cpu.instruction_counter[0]).toBe(0xc000_0000);
  });
});

describe("ChannelYield", () => {
  const g = globalThis as { window?: unknown };
  afterEach(() => {
    delete g.window;
  });

  it("in a page, a loop object it does not know is a refusal with a reason, and its self-check says so", () => {
    g.window = {};
    const patch = new ChannelYield({ yield: () => {} });
    patch.install();
    expect(patch.installed).toBe(false);
    expect(patch.refused).toMatch(/yield_callback is not a function.*worker round trip stays/);
    expect(patch.selfCheck()).toEqual([patch.refused]);
  });

  it("under Node it installs nothing and reports nothing", () => {
    const patch = new ChannelYield({ yield: () => {} });
    patch.install();
    expect(patch.installed).toBe(false);
    expect(patch.refused).toBeNull();
    expect(patch.selfCheck()).toEqual([]);
  });

  it("uninstall gives v86's yield back, or leaves one installed after us", () => {
    g.window = {};
    const proto = { yield() {}, yield_callback() {}, unregister_yield() {} };
    const loop = Object.create(proto) as typeof proto;
    const patch = new ChannelYield(loop);
    patch.install();
    expect(patch.live).toBe(true);
    expect(patch.uninstall()).toBe("restored");
    expect(loop.yield).toBe(proto.yield);
    patch.install();
    loop.yield = () => {};
    expect(patch.selfCheck()).toEqual(["emulator.v86.yield was replaced by someone else after us"]);
    expect(patch.uninstall()).toBe("displaced");
  });
});
