// The parts of v86's internals the platform uses, typed. They are not in v86's public typings
// but their names survive the minifier; `probeV86` checks each one at start-up so a v86 upgrade
// that renames something fails loudly, not strangely (apic-layout.ts checks the APIC struct).

import type { V86IrqPins } from "../irq-line.ts";

/** The part of v86's `cpu.io` the MMIO registration needs (mmio-register.ts). */
export interface V86Io {
  mmap_register(
    addr: number,
    size: number,
    read8: (addr: number) => number,
    write8: (addr: number, value: number) => void,
    read32: (addr: number) => number,
    write32: (addr: number, value: number) => void,
  ): void;
}

/**
 * v86's BusConnector (`emulator.bus`, `emulator.emulator_bus`): named messages between its
 * devices and adapters. Declared here, not taken from the network device's backend, because the
 * platform does not depend on devices; devices/net/v86-bus-backend.ts asks for the same shape.
 */
export interface V86MessageBus {
  send(name: string, value?: unknown): void;
  register(name: string, fn: (value: unknown) => void, thisValue?: unknown): void;
  unregister?(name: string, fn: (value: unknown) => void): void;
}

/**
 * The v86 release these internals were checked against, pinned exactly in package.json: the
 * APIC struct layout and the run_hardware_timers hook are not part of v86's API, so moving to
 * another release is a deliberate change with its own test run.
 */
export const V86_VERSION = "0.5.462";

export interface V86Cpu extends V86IrqPins {
  io: V86Io;
  mem8: Uint8Array;
  /** EFLAGS, one word. */
  flags: Int32Array;
  wasm_memory: WebAssembly.Memory;
  get_apic_addr(): number;
  handle_irqs(): void;
  jit_dirty_cache(start: number, end: number): void;
  /** v86 calls this (looked up on the CPU each time) between batches of guest instructions. */
  run_hardware_timers(acpiEnabled: boolean, now: number): number;
  /** A 32-bit physical read, through v86's MMIO dispatch (its local APIC at 0xFEE00000 included). */
  read32s(addr: number): number;
  /** The APIC struct as v86's state saving sees it: a byte view at get_apic_addr(). */
  get_state_apic(): Uint8Array;
  /** v86's reboot (reset_cpu and its devices): the keyboard controller's reset, port 0xCF9. */
  reboot_internal(): void;
  /** 1 while the CPU is halted (HLT) until an interrupt. */
  in_hlt: Uint8Array;
  /** Instructions run so far (one word): zero before the first. */
  instruction_counter: Uint32Array;
  /** 1 when v86 was created with acpi: true (its local APIC and IO-APIC exist). */
  acpi_enabled: Uint8Array;
  /** Guest RAM size in bytes (one word). */
  memory_size: Uint32Array;
  /** v86's own devices by name (vga, uart1, virtio_net, ...), present when created. */
  devices: Record<string, unknown>;
}

/** The `V86` object the npm package's constructor returns, as far as we use it. */
export interface V86Emulator {
  v86: { cpu: V86Cpu };
  /** The adapters' side of v86's bus (network adapters listen here). */
  bus: V86MessageBus;
  /** The devices' side: a NIC sends "net0-send" here and hears "net0-receive". */
  emulator_bus: V86MessageBus;
  add_listener(event: string, fn: (value: never) => void): void;
  remove_listener(event: string, fn: (value: never) => void): void;
  serial0_send(text: string): void;
  run(): Promise<void> | void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  is_running(): boolean;
  /** v86's own state: CPU, RAM and its devices (not ours). */
  save_state(): Promise<ArrayBuffer>;
  restore_state(state: ArrayBuffer): Promise<void>;
}

/** EFLAGS.IF: v86's handle_irqs() does nothing while it is clear. */
export const FLAG_INTERRUPT = 0x200;

/** Instructions the guest has run (v86's counter, unsigned). */
export const instructionCount = (cpu: Pick<V86Cpu, "instruction_counter">): number => cpu.instruction_counter[0]! >>> 0;

/** Guest RAM through v86's own (slow, Proxy) view: for one-off reads before the machine runs. */
export const guestRam = (cpu: Pick<V86Cpu, "mem8">): Uint8Array => cpu.mem8;

/** v86's main-loop object (its `v86` inside the V86), where its yield lives (tick-yield.ts). */
export const mainLoopOf = (emulator: V86Emulator): object => emulator.v86;

export function probeV86(emulator: V86Emulator): V86Cpu {
  const looksLikeV86 = typeof (emulator as Partial<V86Emulator> | null)?.add_listener === "function";
  const cpu = emulator?.v86?.cpu;
  // v86 builds its CPU object early and fills it in (cpu.io, its devices, its memory) only
  // just before it sends "emulator-loaded".
  if (looksLikeV86 && (!cpu || cpu.io === undefined || cpu.devices === undefined)) {
    throw new Error(
      "v86: the emulator has not finished loading: attach in its \"emulator-loaded\" listener " +
        "(emulator.add_listener(\"emulator-loaded\", ...)), with autostart: false",
    );
  }
  if (!cpu) throw new Error("v86: emulator.v86.cpu is missing (not a V86 emulator, or an unsupported v86 version)");
  const needs: Array<keyof V86Cpu> = [
    "io",
    "mem8",
    "flags",
    "wasm_memory",
    "get_apic_addr",
    "handle_irqs",
    "jit_dirty_cache",
    "run_hardware_timers",
    "device_raise_irq",
    "device_lower_irq",
    "read32s",
    "get_state_apic",
    "reboot_internal",
    "in_hlt",
    "instruction_counter",
    "acpi_enabled",
    "memory_size",
    "devices",
  ];
  for (const name of needs) {
    if (cpu[name] === undefined) throw new Error(`v86: cpu.${name} is missing (unsupported v86 version)`);
  }
  if (typeof cpu.io.mmap_register !== "function") throw new Error("v86: cpu.io.mmap_register is missing");
  for (const name of ["bus", "emulator_bus"] as const) {
    if (typeof emulator[name]?.register !== "function") throw new Error(`v86: emulator.${name} is missing (unsupported v86 version)`);
  }
  return cpu;
}
