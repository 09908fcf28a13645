// Start-up check that v86's local APIC struct is laid out as APIC_WORD says. The MSI router
// sets IRR/TMR bits by word offsets into wasm memory; on a v86 whose struct differs those
// writes would land in other state and fail strangely, so the machine refuses to start instead.
//
// What is checked, before the first guest instruction:
// - the struct size v86's own state saving uses (`cpu.get_state_apic()`, a byte view of the
//   struct) is APIC_STRUCT_WORDS words, and it starts at `get_apic_addr()`;
// - every word holds v86's power-on value (the static initialiser in its src/rust/cpu/apic.rs:
//   LVTs masked, spurious vector 0xFE, flat destination format, timer divider shift 1);
// - v86's own APIC register read path (physical reads at 0xFEE00000, as the guest's MMIO reads
//   go) agrees with our offsets: a distinct marker is put in each word that backs a register,
//   every register is read back through v86, and the words are restored. This does not rely on
//   guessing: a moved, resized or reordered field reads another word's marker.

import { APIC_STRUCT_WORDS, APIC_WORD } from "../local-apic.ts";
import type { V86Cpu } from "./internals.ts";

/** Where the local APIC's registers are in physical memory. */
export const APIC_MMIO_BASE = 0xfee00000;
/** The version register (offset 0x30) of v86's local APIC: version 0x14, max LVT entry 5. */
export const APIC_VERSION = 0x00050014;
const VERSION_REGISTER = 0x30;

const LVT_MASKED = 0x10000;

interface StructWord {
  readonly name: string;
  readonly word: number;
  /** Its value before the first instruction. */
  readonly powerOn: number;
  /** The register offset that reads it, where v86 has one. */
  readonly register?: number;
}

const eight = (name: string, word: number, register: number): StructWord[] =>
  Array.from({ length: 8 }, (_, i) => ({ name: `${name}[${i}]`, word: word + i, powerOn: 0, register: register + 16 * i }));

/** v86's `Apic` struct (0.5.462), word by word. Word 5 is padding before the f64 at 6-7. */
export const APIC_STRUCT: readonly StructWord[] = [
  { name: "apic_id", word: APIC_WORD.ID, powerOn: 0, register: 0x20 },
  { name: "timer_divider", word: 1, powerOn: 0, register: 0x3e0 },
  { name: "timer_divider_shift", word: 2, powerOn: 1 },
  { name: "timer_initial_count", word: 3, powerOn: 0, register: 0x380 },
  { name: "timer_current_count", word: 4, powerOn: 0 },
  { name: "timer_last_tick (low)", word: 6, powerOn: 0 },
  { name: "timer_last_tick (high)", word: 7, powerOn: 0 },
  { name: "lvt_timer", word: 8, powerOn: LVT_MASKED, register: 0x320 },
  { name: "lvt_perf_counter", word: 9, powerOn: LVT_MASKED, register: 0x340 },
  { name: "lvt_int0", word: 10, powerOn: LVT_MASKED, register: 0x350 },
  { name: "lvt_int1", word: 11, powerOn: LVT_MASKED, register: 0x360 },
  { name: "lvt_error", word: 12, powerOn: LVT_MASKED, register: 0x370 },
  { name: "tpr", word: APIC_WORD.TPR, powerOn: 0, register: 0x80 },
  { name: "icr0", word: 14, powerOn: 0, register: 0x300 },
  { name: "icr1", word: 15, powerOn: 0, register: 0x310 },
  ...eight("irr", APIC_WORD.IRR, 0x200),
  ...eight("isr", APIC_WORD.ISR, 0x100),
  ...eight("tmr", APIC_WORD.TMR, 0x180),
  { name: "spurious_vector", word: APIC_WORD.SPURIOUS_VECTOR, powerOn: 0xfe, register: 0xf0 },
  { name: "destination_format", word: APIC_WORD.DESTINATION_FORMAT, powerOn: 0xffffffff, register: 0xe0 },
  { name: "local_destination", word: APIC_WORD.LOCAL_DESTINATION, powerOn: 0, register: 0xd0 },
  { name: "error", word: 43, powerOn: 0 },
  { name: "read_error", word: 44, powerOn: 0, register: 0x280 },
  { name: "lvt_thermal_sensor", word: 45, powerOn: LVT_MASKED, register: 0x330 },
];

/** What the check needs from v86 (see `apicProbe` in internals.ts for the real one). */
export interface ApicProbe {
  /** The struct's words from `get_apic_addr()`, APIC_STRUCT_WORDS long; written only to place markers, then restored. */
  readonly words: Int32Array;
  /** v86's own view of the struct for its state saving: its length in bytes, and whether it starts at `words`. */
  readonly stateBytes: number;
  readonly stateAtWords: boolean;
  /** A 32-bit read of local APIC register `offset` through v86 (a physical read at 0xFEE00000 + offset). */
  readRegister(offset: number): number;
}

const hex = (value: number) => `0x${(value >>> 0).toString(16).padStart(8, "0")}`;

/** A marker no register holds at power-on, different for every word. */
const marker = (word: number) => (0x5a000000 | (word << 12) | 0xa5) >>> 0;

/** Everything that does not match, one line each; empty when the layout is the expected one. */
export function checkApicLayout(probe: ApicProbe): string[] {
  const problems: string[] = [];
  const expectedBytes = APIC_STRUCT_WORDS * 4;
  if (probe.stateBytes !== expectedBytes) {
    problems.push(`the struct is ${probe.stateBytes} bytes by v86's get_state_apic(), expected ${expectedBytes}`);
  }
  if (!probe.stateAtWords) problems.push("get_state_apic() does not start at get_apic_addr()");
  const { words } = probe;
  if (words.length < APIC_STRUCT_WORDS) {
    problems.push(`only ${words.length} words readable at get_apic_addr(), expected ${APIC_STRUCT_WORDS}`);
    return problems;
  }

  for (const field of APIC_STRUCT) {
    const value = words[field.word]! >>> 0;
    if (value !== field.powerOn) {
      problems.push(`word ${field.word} (${field.name}) holds ${hex(value)} at power-on, expected ${hex(field.powerOn)}`);
    }
  }

  const version = probe.readRegister(VERSION_REGISTER) >>> 0;
  if (version !== APIC_VERSION) {
    // Nothing else can be read through v86 then (it answers 0 for every register with ACPI off).
    problems.push(`the version register at 0xFEE00030 reads ${hex(version)}, expected ${hex(APIC_VERSION)} (is ACPI off?)`);
    return problems;
  }

  const mapped = APIC_STRUCT.filter((field) => field.register !== undefined);
  const saved = mapped.map((field) => words[field.word]!);
  const read: number[] = [];
  try {
    for (const field of mapped) words[field.word] = marker(field.word);
    for (const field of mapped) read.push(probe.readRegister(field.register!) >>> 0);
  } finally {
    mapped.forEach((field, i) => (words[field.word] = saved[i]!));
  }
  mapped.forEach((field, i) => {
    const got = read[i]!;
    if (got === marker(field.word)) return;
    const from = mapped.find((other) => marker(other.word) === got);
    const source = from ? `word ${from.word}'s marker` : hex(got);
    problems.push(`register 0x${field.register!.toString(16)} (${field.name}) reads ${source} through v86, not word ${field.word}'s`);
  });
  return problems;
}

/** Throws, naming every mismatch, when v86's local APIC is not the one the MSI router writes into. */
export function verifyApicLayout(probe: ApicProbe, pinned: string): void {
  const problems = checkApicLayout(probe);
  if (problems.length === 0) return;
  throw new Error(
    `v86's local APIC is not laid out as this build expects (v86 ${pinned}, a ${APIC_STRUCT_WORDS}-word struct at get_apic_addr()):\n` +
      problems.map((p) => `  - ${p}\n`).join("") +
      "Refusing to start: MSIs are delivered by setting IRR/TMR bits at fixed word offsets, which on this v86 would " +
      `land in other state. Install the pinned v86 (npm ci), or after checking v86's src/rust/cpu/apic.rs update ` +
      "APIC_WORD in src/platform/local-apic.ts and APIC_STRUCT in src/platform/apic-layout.ts.",
  );
}

/** The probe over a real v86: `words` is the struct's view, read32s is v86's physical read. */
export function apicProbeOf(cpu: Pick<V86Cpu, "read32s" | "get_state_apic">, words: Int32Array): ApicProbe {
  const state = cpu.get_state_apic();
  return {
    words,
    stateBytes: state.byteLength,
    stateAtWords: state.buffer === words.buffer && state.byteOffset === words.byteOffset,
    readRegister: (offset) => cpu.read32s(APIC_MMIO_BASE + offset),
  };
}
