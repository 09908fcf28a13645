import { describe, expect, it } from "vitest";
import { InterruptGate } from "./interrupt-gate.ts";
import { IrqLine } from "./irq-line.ts";
import { MsiRouter } from "./msi-router.ts";
import { LocalApicState, APIC_STRUCT_WORDS } from "./local-apic.ts";

/** The guest's state as the gate sees it, and the task queue the platform drains after an access. */
function world() {
  const w = { inAccess: false, ifSet: true, tasks: [] as (() => void)[] };
  const gate = new InterruptGate({
    inGuestAccess: () => w.inAccess,
    interruptsEnabled: () => w.ifSet,
    later: (fn) => w.tasks.push(fn),
  });
  const afterAccess = () => {
    w.inAccess = false;
    while (w.tasks.length > 0) w.tasks.shift()!();
  };
  return { w, gate, afterAccess };
}

function pins() {
  const moves: string[] = [];
  return { moves, device_raise_irq: (n: number) => moves.push(`raise ${n}`), device_lower_irq: (n: number) => moves.push(`lower ${n}`) };
}

describe("InterruptGate: the one rule", () => {
  it("waits only inside the guest's MMIO access with IF set", () => {
    const { w, gate } = world();
    for (const [inAccess, ifSet, wait] of [[false, false, false], [false, true, false], [true, false, false], [true, true, true]] as const) {
      w.inAccess = inAccess;
      w.ifSet = ifSet;
      expect(gate.mustWait).toBe(wait);
    }
  });

  it("run() runs at once outside an access, after it inside one", () => {
    const { w, gate, afterAccess } = world();
    const ran: string[] = [];
    gate.run(() => ran.push("outside"));
    w.inAccess = true;
    gate.run(() => ran.push("inside"));
    expect(ran).toEqual(["outside"]);
    afterAccess();
    expect(ran).toEqual(["outside", "inside"]);
    expect(gate.counters.waited).toBe(1);
  });
});

describe("IrqLine under the gate", () => {
  it("moves at once outside an access and inside one with IF clear (a handler's ACK)", () => {
    const { w, gate } = world();
    const p = pins();
    const line = new IrqLine(p, 10, gate);
    line.raise();
    w.inAccess = true;
    w.ifSet = false;
    line.lower();
    line.raise();
    expect(p.moves).toEqual(["raise 10", "lower 10", "raise 10"]);
  });

  it("inside an access with IF set, moves wait and keep their order (a lower-raise stays an edge)", () => {
    const { w, gate, afterAccess } = world();
    const p = pins();
    const line = new IrqLine(p, 5, gate);
    w.inAccess = true;
    line.raise();
    line.lower();
    line.raise();
    expect(p.moves).toEqual([]);
    w.ifSet = false; // moves made later still queue behind the waiting ones
    line.lower();
    expect(p.moves).toEqual([]);
    afterAccess();
    expect(p.moves).toEqual(["raise 5", "lower 5", "raise 5", "lower 5"]);
    expect(line.counters).toEqual({ raised: 2, lowered: 2 });
  });
});

describe("MsiRouter under the gate", () => {
  it("the message sets IRR at once; the CPU is poked after the access when IF is set", () => {
    const { w, gate, afterAccess } = world();
    const words = new Int32Array(APIC_STRUCT_WORDS);
    words[40] = 0x100; // spurious-vector register: APIC software-enabled
    let pokes = 0;
    const router = new MsiRouter(new LocalApicState(() => words, () => pokes++), (poke) => gate.run(poke));
    w.inAccess = true;
    expect(router.write(0xfee00000, 0x41)).toBe(true);
    expect(router.counters.delivered).toBe(1);
    expect(pokes).toBe(0);
    afterAccess();
    expect(pokes).toBe(1);
    router.write(0xfee00000, 0x42);
    expect(pokes).toBe(2);
  });
});
