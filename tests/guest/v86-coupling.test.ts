// The checks that keep our coupling to v86's internals honest, run against the real pinned v86:
// its APIC struct passes the layout check and the same check refuses it when anything is off;
// Machine.create refuses a v86 whose APIC does not answer; the run_hardware_timers hook really
// drains the task queue, and a hook v86 stops calling is reported as a fault.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { GUEST_BASE_CMDLINE } from "../../src/firmware/guest-cmdline.ts";
import { createDevices } from "../../src/node/devices.ts";
import { DEFAULT_GUEST, v86WasmPath } from "../../src/node/paths.ts";
import { apicProbeOf, checkApicLayout, verifyApicLayout } from "../../src/platform/v86/apic-layout.ts";
import { APIC_STRUCT_WORDS, APIC_WORD } from "../../src/platform/local-apic.ts";
import { Machine } from "../../src/machine/machine.ts";
import { HOOK_SILENT_AFTER } from "../../src/platform/task-queue.ts";
import { V86_VERSION, type V86Cpu, type V86Emulator } from "../../src/platform/v86/internals.ts";
import { sh } from "./shell.ts";
import { bareV86, fileBuffer } from "./stock-v86.ts";

/** A bare emulator with ACPI as the machine sets it, loaded and not started: v86 at power-on. */
async function loadedBareV86(): Promise<V86Emulator> {
  const { emulator, loaded } = bareV86<V86Emulator>();
  await loaded;
  return emulator;
}

const structAt = (cpu: V86Cpu) => new Int32Array(cpu.wasm_memory.buffer, cpu.get_apic_addr(), APIC_STRUCT_WORDS);

describe("the APIC layout check on the pinned v86", () => {
  let emulator: V86Emulator;
  let cpu: V86Cpu;
  beforeAll(async () => {
    emulator = await loadedBareV86();
    cpu = emulator.v86.cpu;
  });
  afterAll(() => emulator?.destroy());

  it(`passes on v86 ${V86_VERSION} before its first instruction, and leaves the struct as it was`, () => {
    const words = structAt(cpu);
    const before = Array.from(words);
    expect(checkApicLayout(apicProbeOf(cpu, words))).toEqual([]);
    expect(Array.from(words)).toEqual(before);
    expect(before[APIC_WORD.SPURIOUS_VECTOR]).toBe(0xfe);
    expect(before[APIC_WORD.DESTINATION_FORMAT]).toBe(-1);
  });

  it("refuses the same v86 when the struct is one word away from where we look", () => {
    // As if v86 had added a word in front: every offset of ours is one word short.
    const shifted: V86Cpu = Object.create(cpu, { get_apic_addr: { value: () => cpu.get_apic_addr() + 4 } });
    const probe = apicProbeOf(shifted, structAt(shifted));
    expect(() => verifyApicLayout(probe, V86_VERSION)).toThrow(
      /^v86's local APIC is not laid out as this build expects \(v86 0\.5\.462[^]*register 0x200 \(irr\[0\]\) reads [^]*Refusing to start/,
    );
    expect(checkApicLayout(apicProbeOf(cpu, structAt(cpu)))).toEqual([]);
  });

  it("refuses a v86 whose power-on values differ", () => {
    const words = structAt(cpu);
    words[APIC_WORD.DESTINATION_FORMAT] = 0;
    try {
      expect(checkApicLayout(apicProbeOf(cpu, words))).toEqual([
        "word 41 (destination_format) holds 0x00000000 at power-on, expected 0xffffffff",
      ]);
    } finally {
      words[APIC_WORD.DESTINATION_FORMAT] = -1;
    }
  });

  it("refuses a struct size other than v86's get_state_apic() says", () => {
    const bigger: V86Cpu = Object.create(cpu, {
      get_state_apic: { value: () => new Uint8Array(cpu.wasm_memory.buffer, cpu.get_apic_addr(), 4 * (APIC_STRUCT_WORDS + 1)) },
    });
    expect(checkApicLayout(apicProbeOf(bigger, structAt(cpu)))).toEqual([
      "the struct is 188 bytes by v86's get_state_apic(), expected 184",
    ]);
  });
});

describe("Machine.create on a v86 it cannot use", () => {
  it("refuses MSI with the reason when v86 has no local APIC (ACPI off)", async () => {
    const started = Machine.create({
      images: { bios: fileBuffer(DEFAULT_GUEST.bios), vgaBios: fileBuffer(DEFAULT_GUEST.vgaBios), kernel: fileBuffer(DEFAULT_GUEST.kernel) },
      wasmPath: v86WasmPath(),
      memoryMB: 96,
      cmdline: GUEST_BASE_CMDLINE,
      devices: [],
      msi: {},
      v86Options: { acpi: false },
    });
    await expect(started).rejects.toThrow(/MSI needs v86's local APIC, which exists only with ACPI: create the V86 with acpi: true, or attach with msi: false/);
  });
});

describe("the run_hardware_timers hook", () => {
  let guest: BootedGuest;
  beforeAll(async () => {
    guest = await bootGuest({ devices: await createDevices({}) });
  });
  afterAll(() => guest?.shutdown());

  it("drains the task queue while the guest runs", async () => {
    await sh(guest, "echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda of=/dev/null bs=64k 2>&1");
    const { tasks } = guest.machine;
    console.log(`hook calls ${tasks.hookCalls}, hook drains ${tasks.hookDrains}, host drains ${tasks.hostDrains}, tasks ${tasks.ran}`);
    expect(tasks.hookCalls).toBeGreaterThan(1000);
    expect(tasks.hookDrains).toBeGreaterThan(10);
    expect(tasks.hostDrains).toBeLessThan(tasks.hookDrains);
    expect(guest.machine.faults).toEqual([]);
  });

  it("reports a fault when v86 stops calling it, and the guest still gets its I/O done", async () => {
    const { machine } = guest;
    // What a v86 that bound its wasm imports once would do: call its own method, never ours.
    machine.cpu.run_hardware_timers = Object.getPrototypeOf(machine.cpu).run_hardware_timers;
    const hostBefore = machine.tasks.hostDrains;
    const hookCallsBefore = machine.tasks.hookCalls;
    for (let i = 0; machine.tasks.hostDrains - hostBefore < HOOK_SILENT_AFTER + 10 && i < 20; i++) {
      await sh(guest, "echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda of=/dev/null bs=4k 2>&1");
    }
    console.log(`after the hook went silent: ${machine.tasks.hostDrains - hostBefore} host drains, ${machine.tasks.hookCalls - hookCallsBefore} hook calls`);
    expect(machine.tasks.hookCalls).toBe(hookCallsBefore);
    expect(machine.faults.map((f) => f.where)).toEqual(["timer-hook"]);
    expect(String(machine.faults[0]!.error)).toContain(
      `v86 has not called cpu.run_hardware_timers during the last ${HOOK_SILENT_AFTER} host-task drains that found work`,
    );
  });
});
