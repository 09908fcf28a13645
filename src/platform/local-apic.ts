// The emulated local APIC's state as v86 keeps it: a struct of 32-bit words inside the wasm
// memory (layout fixed by src/rust/cpu/apic.rs in the v86 repository, checked there by
// offset_of! asserts; apic-layout.ts checks it against the running v86 at start-up). v86 has no
// MSI path of its own, so we set the vector's IRR bit here the way its `deliver()` does and then
// let the CPU take the interrupt.

/** Word indices into v86's `Apic` struct. */
export const APIC_WORD = {
  ID: 0,
  TPR: 13,
  IRR: 16,
  ISR: 24,
  TMR: 32,
  SPURIOUS_VECTOR: 40,
  DESTINATION_FORMAT: 41,
  LOCAL_DESTINATION: 42,
} as const;
export const APIC_STRUCT_WORDS = 46;

/** Spurious-vector register bit 8: the APIC is software-enabled. */
const SVR_APIC_ENABLED = 1 << 8;

export interface LocalApicPort {
  /** xAPIC ID (ID register bits 31-24). */
  readonly id: number;
  /** Logical APIC ID (LDR bits 31-24). */
  readonly logicalId: number;
  /** Destination format model (DFR bits 31-28): 0xF flat, 0x0 cluster. */
  readonly destinationModel: number;
  readonly softwareEnabled: boolean;
  /** Marks `vector` pending; false when it already was (the two requests merge, as on hardware). */
  setPending(vector: number, level: boolean): boolean;
  /** Lets the CPU take a pending interrupt now if it can (and wakes it from HLT). */
  poke(): void;
}

/** A LocalApicPort over a words view of the struct; `words()` is asked each time because wasm memory can grow (WasmWordsView). */
export class LocalApicState implements LocalApicPort {
  readonly #words: () => Int32Array;
  readonly #poke: () => void;

  constructor(words: () => Int32Array, poke: () => void) {
    this.#words = words;
    this.#poke = poke;
  }

  get id(): number {
    return (this.#word(APIC_WORD.ID) >>> 24) & 0xff;
  }
  get logicalId(): number {
    return (this.#word(APIC_WORD.LOCAL_DESTINATION) >>> 24) & 0xff;
  }
  get destinationModel(): number {
    return (this.#word(APIC_WORD.DESTINATION_FORMAT) >>> 28) & 0xf;
  }
  get softwareEnabled(): boolean {
    return (this.#word(APIC_WORD.SPURIOUS_VECTOR) & SVR_APIC_ENABLED) !== 0;
  }

  setPending(vector: number, level: boolean): boolean {
    const w = this.#words();
    const index = vector >>> 5;
    const bit = 1 << (vector & 31);
    const irr = APIC_WORD.IRR + index;
    const tmr = APIC_WORD.TMR + index;
    if (((w[irr] ?? 0) & bit) !== 0) return false;
    w[irr] = (w[irr] ?? 0) | bit;
    w[tmr] = level ? (w[tmr] ?? 0) | bit : (w[tmr] ?? 0) & ~bit;
    return true;
  }

  poke(): void {
    this.#poke();
  }

  #word(i: number): number {
    return this.#words()[i] ?? 0;
  }
}
