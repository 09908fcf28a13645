import { beforeEach, describe, expect, it } from "vitest";
import { APIC_STRUCT_WORDS, APIC_WORD, LocalApicState } from "./local-apic.ts";
import { encodeMsi } from "./msi-message.ts";
import { MsiRouter } from "./msi-router.ts";

// The router runs against the same struct layout v86 keeps in wasm memory: an Int32Array of
// the Apic struct's words, here standing alone.
function apicWords(): Int32Array {
  const w = new Int32Array(APIC_STRUCT_WORDS);
  w[APIC_WORD.SPURIOUS_VECTOR] = 0x1ff; // software-enabled, spurious vector 0xff
  w[APIC_WORD.DESTINATION_FORMAT] = -1; // flat model
  w[APIC_WORD.LOCAL_DESTINATION] = 0x01000000; // logical ID 1, as Linux sets it
  return w;
}

function irrBit(w: Int32Array, vector: number): boolean {
  return ((w[APIC_WORD.IRR + (vector >>> 5)]! >>> (vector & 31)) & 1) === 1;
}
function tmrBit(w: Int32Array, vector: number): boolean {
  return ((w[APIC_WORD.TMR + (vector >>> 5)]! >>> (vector & 31)) & 1) === 1;
}

const fixed = (vector: number, more: Partial<Parameters<typeof encodeMsi>[0]> = {}) =>
  encodeMsi({ destination: 0, logical: false, redirectionHint: false, vector, deliveryMode: 0, level: false, ...more });

describe("MsiRouter", () => {
  let words: Int32Array;
  let pokes: number;
  let scheduled: Array<() => void>;
  let router: MsiRouter;

  beforeEach(() => {
    words = apicWords();
    pokes = 0;
    scheduled = [];
    router = new MsiRouter(new LocalApicState(() => words, () => pokes++), (fn) => scheduled.push(fn));
  });

  it("delivers a fixed edge message: IRR set, TMR clear, CPU poked later, not inside the write", () => {
    words[APIC_WORD.TMR + 1] = -1;
    const { addr, data } = fixed(0x41);
    expect(router.write(addr, data)).toBe(true);
    expect(irrBit(words, 0x41)).toBe(true);
    expect(tmrBit(words, 0x41)).toBe(false);
    expect(pokes).toBe(0);
    scheduled.forEach((f) => f());
    expect(pokes).toBe(1);
    expect(router.counters.delivered).toBe(1);
    expect(router.counters.perVector[0x41]).toBe(1);
  });

  it("sets TMR for a level-triggered assert and ignores a deassert", () => {
    const a = fixed(0x52, { level: true, assert: true });
    router.write(a.addr, a.data);
    expect(tmrBit(words, 0x52)).toBe(true);
    const d = fixed(0x53, { level: true, assert: false });
    router.write(d.addr, d.data);
    expect(irrBit(words, 0x53)).toBe(false);
    expect(router.counters.droppedByReason["level-deassert"]).toBe(1);
  });

  it("delivers lowest-priority like fixed on one CPU", () => {
    const { addr, data } = fixed(0x60, { deliveryMode: 1 });
    router.write(addr, data);
    expect(irrBit(words, 0x60)).toBe(true);
  });

  it("coalesces a message whose vector is already pending", () => {
    const { addr, data } = fixed(0x41);
    router.write(addr, data);
    router.write(addr, data);
    expect(router.counters).toMatchObject({ delivered: 1, coalesced: 1, dropped: 0 });
    expect(scheduled.length).toBe(1);
  });

  it.each([
    ["smi", 2],
    ["reserved 3", 3],
    ["nmi", 4],
    ["init", 5],
    ["reserved 6", 6],
    ["extint", 7],
  ])("counts and drops delivery mode %s", (_name, mode) => {
    const { addr, data } = fixed(0x41, { deliveryMode: mode });
    expect(router.write(addr, data)).toBe(true);
    expect(irrBit(words, 0x41)).toBe(false);
    expect(router.counters.droppedByReason["unsupported-delivery-mode"]).toBe(1);
    expect(router.recentDrops[0]!.reason).toBe("unsupported-delivery-mode");
  });

  it("refuses vectors below 16", () => {
    for (let v = 0; v < 16; v++) {
      const { addr, data } = fixed(v);
      router.write(addr, data);
    }
    expect(router.counters.droppedByReason["illegal-vector"]).toBe(16);
    expect(words.slice(APIC_WORD.IRR, APIC_WORD.IRR + 8).every((x) => x === 0)).toBe(true);
  });

  it("matches physical destinations by APIC ID, with 0xFF as broadcast", () => {
    words[APIC_WORD.ID] = 0x02000000; // APIC ID 2
    router.write(...Object.values(fixed(0x41, { destination: 0 })) as [number, number]);
    expect(router.counters.droppedByReason["no-destination"]).toBe(1);
    router.write(...Object.values(fixed(0x42, { destination: 2 })) as [number, number]);
    router.write(...Object.values(fixed(0x43, { destination: 0xff })) as [number, number]);
    expect(irrBit(words, 0x42) && irrBit(words, 0x43)).toBe(true);
  });

  it("matches logical destinations in the flat model by bitmap", () => {
    const hit = fixed(0x44, { logical: true, destination: 0x03 });
    const miss = fixed(0x45, { logical: true, destination: 0x02 });
    router.write(hit.addr, hit.data);
    router.write(miss.addr, miss.data);
    expect(irrBit(words, 0x44)).toBe(true);
    expect(irrBit(words, 0x45)).toBe(false);
  });

  it("matches logical destinations in the cluster model by cluster and member bits", () => {
    words[APIC_WORD.DESTINATION_FORMAT] = 0x0fffffff; // cluster
    words[APIC_WORD.LOCAL_DESTINATION] = 0x21000000; // cluster 2, member bit 0
    const cases: Array<[number, boolean]> = [
      [0x21, true],
      [0x23, true],
      [0x22, false],
      [0x11, false],
      [0xff, true],
    ];
    cases.forEach(([destination, expected], i) => {
      const m = fixed(0x70 + i, { logical: true, destination });
      router.write(m.addr, m.data);
      expect(irrBit(words, 0x70 + i)).toBe(expected);
    });
  });

  it("drops messages while the APIC is software-disabled", () => {
    words[APIC_WORD.SPURIOUS_VECTOR] = 0xff;
    const { addr, data } = fixed(0x41);
    router.write(addr, data);
    expect(irrBit(words, 0x41)).toBe(false);
    expect(router.counters.droppedByReason["apic-disabled"]).toBe(1);
  });

  it("does not claim writes outside the MSI window", () => {
    expect(router.write(0xfec00000, 0x41)).toBe(false);
    expect(router.counters.messages).toBe(0);
  });
});
