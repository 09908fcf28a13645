// The parts of v86's internals the platform uses, typed. They are not in v86's public typings
// but their names survive the minifier (see ../shared/NOTES.md); `probeV86` checks each one at
// start-up so a v86 upgrade that renames something fails loudly, not strangely.

import type { V86Io } from "./mmio-bus.ts";
import type { V86IrqPins } from "./irq-line.ts";

export interface V86Cpu extends V86IrqPins {
  io: V86Io;
  mem8: Uint8Array;
  /** EFLAGS, one word. */
  flags: Int32Array;
  wasm_memory: WebAssembly.Memory;
  get_apic_addr(): number;
  handle_irqs(): void;
  jit_dirty_cache(start: number, end: number): void;
  run_hardware_timers(acpiEnabled: boolean, now: number): number;
}

export interface V86Bus {
  register(name: string, fn: (...args: never[]) => void, thisValue?: unknown): void;
  send(name: string, value?: unknown): void;
}

/** The `V86` object the npm package's constructor returns, as far as we use it. */
export interface V86Emulator {
  v86: { cpu: V86Cpu };
  bus: V86Bus;
  emulator_bus?: V86Bus;
  add_listener(event: string, fn: (value: never) => void): void;
  remove_listener(event: string, fn: (value: never) => void): void;
  serial0_send(text: string): void;
  run(): Promise<void> | void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  is_running(): boolean;
}

/** EFLAGS.IF: v86's handle_irqs() does nothing while it is clear. */
export const FLAG_INTERRUPT = 0x200;

export function probeV86(emulator: V86Emulator): V86Cpu {
  const cpu = emulator.v86?.cpu;
  if (!cpu) throw new Error("v86: emulator.v86.cpu is missing (unsupported v86 version)");
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
  ];
  for (const name of needs) {
    if (cpu[name] === undefined) throw new Error(`v86: cpu.${name} is missing (unsupported v86 version)`);
  }
  if (typeof cpu.io.mmap_register !== "function") throw new Error("v86: cpu.io.mmap_register is missing");
  return cpu;
}
