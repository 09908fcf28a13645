// Where a boot spends its time, seen from the host: v86's emulated instruction counter and the
// host clock at the phase boundaries, and how long the CPU sat in HLT (waiting for an
// interrupt, which in v86 means waiting for a timer or a device).
//
// Boundaries:
//   decompressor   first batch that runs flat 32-bit code (paging off) between 1 MiB and
//                  64 MiB: the bzImage's decompressor, which runs where the kernel is loaded
//                  (1 MiB) and where it copies itself (above the 16 MiB load address).
//                  SeaBIOS runs below 1 MiB and at the top of RAM (160 MB here), never there.
//                  Before it: firmware (SeaBIOS POST, v86's boot ROM, the kernel's real-mode setup).
//   kernel         first batch with paging on: only the decompressed kernel turns it on.
//   serial lines   the console's text as the guest prints it (8250 console output is written
//                  synchronously by printk), so "Run /init as init process" and the shell
//                  prompt are timed where they happen.
// Samples are taken where v86 calls run_hardware_timers, every 100,003 instructions at most
// (v86's LOOP_COUNTER), so a boundary is late by less than that.
//
// Halted: v86's main loop returns to the host event loop when the CPU executes HLT and sleeps
// until the next timer (or until a device interrupt wakes it). The probe counts host time from
// a main-loop return with the CPU halted to the next main-loop entry as halted time.

import type { Machine } from "../../src/machine/machine.ts";

/** The parts of v86's CPU object the probe reads (not in v86's typings; checked in attach). */
interface ProbeCpu {
  instruction_counter: Uint32Array;
  in_hlt: Uint8Array;
  cr: Int32Array;
  instruction_pointer: Int32Array;
  protected_mode: Int32Array;
  main_loop: () => number;
  run_hardware_timers(acpiEnabled: boolean, now: number): number;
}

const CR0_PG = 0x8000_0000;
const MiB = 1024 * 1024;

export interface Mark {
  /** v86's instruction counter (wrapping 32-bit; boots here stay far below 2^32). */
  instructions: number;
  /** Host milliseconds since the probe was attached. */
  ms: number;
}

export interface BootProfile {
  decompressor: Mark | null;
  kernel: Mark | null;
  runInit: Mark | null;
  prompt: Mark | null;
  /** Host ms with the CPU halted, from attach to the prompt. */
  haltedMs: number;
  /** Number of HLT sleeps (main-loop returns with the CPU halted). */
  halts: number;
}

export class BootProbe {
  readonly #cpu: ProbeCpu;
  readonly #t0 = performance.now();
  #decompressor: Mark | null = null;
  #kernel: Mark | null = null;
  #runInit: Mark | null = null;
  #prompt: Mark | null = null;
  #haltedMs = 0;
  #halts = 0;
  #haltedSince: number | null = null;
  #tail = "";
  #done = false;

  /** Attach before the emulator runs its first instruction (bootGuest's onMachine). */
  constructor(machine: Machine, prompt: string) {
    const cpu = machine.cpu as unknown as ProbeCpu;
    for (const name of ["instruction_counter", "in_hlt", "cr", "instruction_pointer", "protected_mode", "main_loop"] as const) {
      if (cpu[name] === undefined) throw new Error(`boot probe: v86 cpu.${name} is missing (unsupported v86 version)`);
    }
    this.#cpu = cpu;

    const mainLoop = cpu.main_loop;
    cpu.main_loop = () => {
      if (this.#haltedSince !== null) {
        if (!this.#done) this.#haltedMs += performance.now() - this.#haltedSince;
        this.#haltedSince = null;
      }
      const t = mainLoop();
      if (cpu.in_hlt[0] && !this.#done) {
        this.#haltedSince = performance.now();
        this.#halts++;
      }
      return t;
    };

    const previousTimers = cpu.run_hardware_timers;
    const runTimers = previousTimers.bind(cpu);
    cpu.run_hardware_timers = (acpiEnabled, now) => {
      if (!this.#kernel) this.#sample();
      return runTimers(acpiEnabled, now);
    };

    const keep = Math.max(prompt.length, 32);
    const off = machine.onSerial((text) => {
      if (this.#done) return;
      this.#tail = (this.#tail + text).slice(-256);
      if (!this.#runInit && this.#tail.includes("Run /init as init process")) this.#runInit = this.#mark();
      if (this.#runInit && this.#tail.endsWith(prompt)) {
        this.#prompt = this.#mark();
        this.#done = true;
        off();
        // Out of the way for the rest of the machine's life (nobody wraps these after us).
        cpu.main_loop = mainLoop;
        cpu.run_hardware_timers = previousTimers;
      }
      if (this.#tail.length > keep) this.#tail = this.#tail.slice(-keep);
    });
  }

  #mark(): Mark {
    return { instructions: this.#cpu.instruction_counter[0]! >>> 0, ms: performance.now() - this.#t0 };
  }

  #sample(): void {
    const cpu = this.#cpu;
    const paging = (cpu.cr[0]! & CR0_PG) !== 0;
    if (paging) {
      this.#decompressor ??= this.#mark();
      this.#kernel = this.#mark();
      return;
    }
    const ip = cpu.instruction_pointer[0]! >>> 0;
    if (!this.#decompressor && cpu.protected_mode[0] && ip >= MiB && ip < 64 * MiB) this.#decompressor = this.#mark();
  }

  profile(): BootProfile {
    return {
      decompressor: this.#decompressor,
      kernel: this.#kernel,
      runInit: this.#runInit,
      prompt: this.#prompt,
      haltedMs: this.#haltedMs,
      halts: this.#halts,
    };
  }
}
