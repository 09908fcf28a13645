// Our patches of v86 (src/platform/v86/) against the pinned v86: each self-check passes on a
// booted machine; attach refuses a second attach on the same emulator (naming the first) and an
// emulator that has not loaded; detach leaves a timer hook someone installed after us; and a
// guest reboot inside the batch of a notify leaves v86's instruction counter exact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { attachVirtioMmio } from "../../src/platform/attach.ts";
import type { V86Cpu, V86Emulator } from "../../src/platform/v86/internals.ts";
import { sh } from "./shell.ts";
import { bareV86, stockV86 } from "./stock-v86.ts";

const MiB = 1024 * 1024;
/** v86's batch (LOOP_COUNTER, 100,003) plus one compiled block that may end past it, with room to spare. */
const MOST_PER_BATCH = 1_000_000;
/** Batch boundaries watched after the reset. */
const BOUNDARIES = 10;

describe("attach and detach on a V86 made with the v86 package", () => {
  it("refuses an emulator that has not loaded yet, saying so", async () => {
    const { emulator, loaded } = bareV86<V86Emulator>();
    try {
      expect(() => attachVirtioMmio(emulator, { devices: [], msi: false })).toThrow(/has not finished loading: attach in its "emulator-loaded" listener/);
      expect(() => attachVirtioMmio(emulator, { devices: [], msi: false })).not.toThrow(/unsupported v86 version/);
    } finally {
      await loaded;
      await emulator.destroy();
    }
  });

  it("refuses a second attach naming the first; detach leaves a hook installed after ours, and says so", async () => {
    const emulator = (await stockV86("console=ttyS0")) as unknown as V86Emulator;
    try {
      const device = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(MiB)), name: "blk0", serial: "first" });
      // No devices the first time (this V86's cmdline announces none); the second attach is
      // refused before its placement is even looked at.
      const first = attachVirtioMmio(emulator, { devices: [], msi: false });
      expect(() => attachVirtioMmio(emulator, { devices: [device], msi: false })).toThrow(
        /already has devices: 0 attached at 0xd0000000 by attachVirtioMmio/,
      );
      expect(first.patchReport().map((p) => [p.name, p.installed, p.problems])).toEqual([
        ["memory-views", true, []],
        ["apic-writes", true, []],
        ["batch-end", true, []],
        ["timer-hook", true, []],
        ["mmio-register", true, []],
      ]);
      const cpu = emulator.v86.cpu;
      const ours = cpu.run_hardware_timers;
      const theirs: V86Cpu["run_hardware_timers"] = (a, n) => ours.call(cpu, a, n);
      cpu.run_hardware_timers = theirs;
      expect(first.patchReport().find((p) => p.name === "timer-hook")!.problems).toEqual([
        "cpu.run_hardware_timers was replaced by someone else after us",
      ]);
      const outcomes = first.detach();
      expect(outcomes["timer-hook"]).toBe("displaced");
      expect(outcomes["batch-end"]).toBe("restored");
      expect(cpu.run_hardware_timers).toBe(theirs);
      expect(first.faults.map((f) => f.where)).toContain("timer-hook");
      // After detach the emulator is free again, and a clean detach gives v86's own hook back.
      const second = attachVirtioMmio(emulator, { devices: [], msi: false });
      expect(second.detach()["timer-hook"]).toBe("restored");
      expect(cpu.run_hardware_timers).toBe(theirs);
      cpu.run_hardware_timers = Object.getPrototypeOf(cpu).run_hardware_timers;
    } finally {
      await emulator.destroy();
    }
  });
});

describe("the patches on a booted machine", () => {
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    device = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(4 * MiB)), name: "blk0", serial: "patches" });
    guest = await bootGuest({ devices: [device], memoryMB: 128 });
  });
  afterAll(() => guest?.shutdown());

  it("every self-check passes while the guest runs, and the timer hook is called", async () => {
    await sh(guest, "dd if=/dev/vda of=/dev/null bs=4k count=64 iflag=direct 2>/dev/null");
    const report = guest.machine.patchReport();
    expect(report.map((p) => p.name)).toEqual(["memory-views", "apic-writes", "batch-end", "timer-hook", "mmio-register", "channel-yield", "serial-input"]);
    for (const p of report) expect(p.problems, p.name).toEqual([]);
    expect(guest.machine.tasks.hookCalls).toBeGreaterThan(100);
    expect(guest.machine.channelYield?.installed).toBe(false); // Node: v86's setImmediate already
  });

  it("v86's main-loop object has what the channel yield replaces, here too (the page's v86 is the same build)", () => {
    const loop = (guest.machine.emulator as unknown as { v86: Record<string, unknown> }).v86;
    for (const name of ["yield", "yield_callback", "unregister_yield"]) expect(typeof loop[name], name).toBe("function");
  });

  it("v86's UART keeps received bytes in the plain array the serial input reads, and its state leaves them out", () => {
    const uart = (guest.machine.cpu.devices as { uart0: { input: number[]; get_state(): unknown[] } }).uart0;
    expect(Array.isArray(uart.input)).toBe(true);
    // The state v86 saves for its UART: registers only (11 numbers in 0.5.462), no queue.
    const state = uart.get_state();
    expect(state.every((v) => typeof v === "number")).toBe(true);
    expect(state.length).toBe(11);
  });

  it("a guest reboot in the batch of a notify leaves the instruction counter exact, not at 0xC0000000", async () => {
    const { machine } = guest;
    const cpu = machine.cpu;
    const batchEnd = machine.batchEnd!;
    // v86's reboot as the guest reaches it (keyboard controller reset or port 0xCF9), with a
    // QueueNotify's advance made in the same batch: a notify just before the reset instruction
    // leaves the advance pending until the batch ends, and that ordering is forced here.
    const patched = cpu.reboot_internal;
    let atReboot = -1;
    let pendingAtReboot = false;
    const rebooted = new Promise<void>((resolve) => {
      cpu.reboot_internal = () => {
        batchEnd.request();
        pendingAtReboot = batchEnd.pending;
        atReboot = ((cpu.instruction_counter[0]! >>> 0) - 0x4000_0000) >>> 0;
        patched.call(cpu);
        resolve();
      };
    });
    // Watch the counter at the first batch boundaries after the reset, from outside our hook.
    const hook = cpu.run_hardware_timers;
    const after: number[] = [];
    cpu.run_hardware_timers = (a, n) => {
      const t = hook.call(cpu, a, n);
      if (atReboot >= 0 && after.length < BOUNDARIES) {
        after.push(cpu.instruction_counter[0]! >>> 0);
        // Stop there: v86 0.5.462 restarting a bzImage-booted guest hits a wasm "unreachable"
        // about 2 M instructions after its reset (seen here), which is not ours to test.
        if (after.length === BOUNDARIES) void machine.pause();
      }
      return t;
    };
    guest.console.send("dd if=/dev/vda of=/dev/null bs=4k count=1 iflag=direct; echo b > /proc/sysrq-trigger\n");
    await Promise.race([rebooted, new Promise((_, reject) => setTimeout(() => reject(new Error("the guest did not reboot")), 60_000))]);
    const deadline = Date.now() + 30_000;
    while (after.length < BOUNDARIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    console.log(`counter at the reboot ${atReboot}, at the next boundaries ${after.slice(0, 5).join(", ")} ... ${after.at(-1)}`);
    expect(pendingAtReboot).toBe(true);
    expect(atReboot).toBeGreaterThan(MOST_PER_BATCH); // the guest had run: a reset is visible
    expect(after.length).toBe(BOUNDARIES);
    // Zeroed by v86's reset, then counting up by at most a batch per boundary, never 0xC0000000.
    expect(after[0]!).toBeLessThan(MOST_PER_BATCH);
    for (let i = 1; i < after.length; i++) expect((after[i]! - after[i - 1]!) >>> 0).toBeLessThan(MOST_PER_BATCH);
    expect(after.at(-1)!).toBeLessThan(0x4000_0000);
    expect(batchEnd.pending).toBe(false);
  });
});
