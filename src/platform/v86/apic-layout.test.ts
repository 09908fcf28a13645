import { describe, expect, it } from "vitest";
import { APIC_STRUCT, APIC_VERSION, checkApicLayout, verifyApicLayout, type ApicProbe } from "./apic-layout.ts";
import { APIC_STRUCT_WORDS, APIC_WORD } from "../local-apic.ts";

// A v86 as far as the check sees it, built from APIC_STRUCT with a layout change applied: the
// struct image at power-on (in a larger memory, as in wasm) and a register read that finds each
// field where *that* layout puts it, as v86's own read path would. tests/guest/v86-coupling.test.ts
// runs the same check against the real pinned v86.
interface Variant {
  /** Where each field's word goes (default: where it is). */
  move?: (word: number, name: string) => number;
  /** The struct's size in words as v86 reports it. */
  structWords?: number;
  /** Power-on value overrides by field name. */
  powerOn?: Record<string, number>;
  version?: number;
}

function v86Like(v: Variant = {}): ApicProbe & { memory: Int32Array } {
  const memory = new Int32Array(64);
  memory.fill(0x0badf00d); // whatever follows the struct in wasm memory
  const at = new Map<string, number>();
  const structWords = v.structWords ?? APIC_STRUCT_WORDS;
  memory.fill(0, 0, structWords);
  for (const field of APIC_STRUCT) {
    const word = v.move?.(field.word, field.name) ?? field.word;
    at.set(field.name, word);
    memory[word] = v.powerOn?.[field.name] ?? field.powerOn;
  }
  return {
    memory,
    words: memory.subarray(0, APIC_STRUCT_WORDS),
    stateBytes: structWords * 4,
    stateAtWords: true,
    readRegister(offset) {
      if (offset === 0x30) return v.version ?? APIC_VERSION;
      const field = APIC_STRUCT.find((f) => f.register === offset);
      return field ? memory[at.get(field.name)!]! : 0;
    },
  };
}

const refusal = (probe: ApicProbe) => {
  try {
    verifyApicLayout(probe, "0.5.462");
  } catch (error) {
    return (error as Error).message;
  }
  return "";
};

describe("the APIC layout check", () => {
  it("accepts v86 0.5.462's struct and leaves every word as it found it", () => {
    const probe = v86Like();
    const before = Array.from(probe.memory);
    expect(checkApicLayout(probe)).toEqual([]);
    expect(() => verifyApicLayout(probe, "0.5.462")).not.toThrow();
    expect(Array.from(probe.memory)).toEqual(before);
  });

  it("refuses a struct with a field inserted before irr (everything after it one word on)", () => {
    const probe = v86Like({ move: (w) => (w >= APIC_WORD.IRR ? w + 1 : w), structWords: APIC_STRUCT_WORDS + 1 });
    const before = Array.from(probe.memory);
    const message = refusal(probe);
    expect(message).toMatch(/^v86's local APIC is not laid out as this build expects \(v86 0\.5\.462, a 46-word struct/);
    expect(message).toMatch(/the struct is 188 bytes by v86's get_state_apic\(\), expected 184/);
    expect(message).toMatch(/word 40 \(spurious_vector\) holds 0x00000000 at power-on, expected 0x000000fe/);
    expect(message).toMatch(/register 0x200 \(irr\[0\]\) reads word 17's marker through v86, not word 16's/);
    expect(message).toMatch(/Refusing to start: MSIs are delivered by setting IRR\/TMR bits/);
    // Markers restored even though the check failed.
    expect(Array.from(probe.memory)).toEqual(before);
  });

  it("refuses a struct that only grew (a field added at the end)", () => {
    const problems = checkApicLayout(v86Like({ structWords: APIC_STRUCT_WORDS + 2 }));
    expect(problems).toEqual(["the struct is 192 bytes by v86's get_state_apic(), expected 184"]);
  });

  it("refuses isr and tmr swapped, which power-on values alone cannot see (both all zero)", () => {
    const swap = (w: number) =>
      w >= APIC_WORD.ISR && w < APIC_WORD.ISR + 8 ? w + 8 : w >= APIC_WORD.TMR && w < APIC_WORD.TMR + 8 ? w - 8 : w;
    const problems = checkApicLayout(v86Like({ move: swap }));
    expect(problems).toHaveLength(16);
    expect(problems).toContain("register 0x180 (tmr[0]) reads word 24's marker through v86, not word 32's");
    expect(problems).toContain("register 0x100 (isr[0]) reads word 32's marker through v86, not word 24's");
  });

  it("refuses different power-on values", () => {
    const problems = checkApicLayout(v86Like({ powerOn: { destination_format: 0, spurious_vector: 0xff } }));
    expect(problems).toEqual([
      "word 40 (spurious_vector) holds 0x000000ff at power-on, expected 0x000000fe",
      "word 41 (destination_format) holds 0x00000000 at power-on, expected 0xffffffff",
    ]);
  });

  it("refuses when the APIC does not answer (ACPI off) without trying the registers", () => {
    const problems = checkApicLayout(v86Like({ version: 0 }));
    expect(problems).toEqual(["the version register at 0xFEE00030 reads 0x00000000, expected 0x00050014 (is ACPI off?)"]);
  });

  it("refuses a state view that is not at get_apic_addr()", () => {
    expect(checkApicLayout({ ...v86Like(), stateAtWords: false })).toEqual(["get_state_apic() does not start at get_apic_addr()"]);
  });
});
