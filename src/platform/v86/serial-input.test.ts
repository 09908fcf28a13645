import { describe, expect, it } from "vitest";
import { ANSWER_SETTLE_INSTRUCTIONS, SerialInput, type V86Uart } from "./serial-input.ts";

/** v86's UART queue and a guest that reads it when told, with a counter and a halt flag. */
function rig() {
  const uart: V86Uart = {
    input: [],
    lsr: 0,
    data_received(byte) {
      this.input.push(byte);
      this.lsr |= 1;
    },
  };
  const cpu = { count: 1000, hlt: false };
  const reads: string[] = [];
  const guestReads = () => {
    reads.push(String.fromCharCode(...uart.input.splice(0)));
    uart.lsr &= ~1;
    cpu.count += 5000;
  };
  const input = new SerialInput(uart, { halted: () => cpu.hlt, instructions: () => cpu.count });
  return { uart, cpu, reads, guestReads, input };
}

describe("SerialInput", () => {
  it("keys alone go straight to the UART", () => {
    const { uart, input } = rig();
    input.send("ls -l\n");
    expect(String.fromCharCode(...uart.input)).toBe("ls -l\n");
    expect(input.waiting).toBe(false);
  });

  it("a cursor-position answer never shares a read with keys: before, after, or in the same send", () => {
    const { cpu, reads, guestReads, input } = rig();
    input.send("ab\x1b[24;5Rcd");
    input.send("ef");
    guestReads(); // the keys before the answer
    expect(input.pump()).toBe(true);
    guestReads(); // the answer, alone
    expect(reads).toEqual(["ab", "\x1b[24;5R"]);
    // The guest read it; the keys wait until it has run on and gone idle.
    expect(input.pump()).toBe(true);
    cpu.count += 10;
    expect(input.pump()).toBe(true); // running, not idle yet
    cpu.hlt = true;
    expect(input.pump()).toBe(false);
    guestReads();
    expect(reads).toEqual(["ab", "\x1b[24;5R", "cdef"]);
    expect(input.counters.answers).toBe(1);
  });

  it("a guest that never idles gets the keys after ANSWER_SETTLE_INSTRUCTIONS", () => {
    const { cpu, reads, guestReads, input } = rig();
    input.send("\x1b[1;1Rx");
    guestReads();
    input.pump();
    cpu.count += ANSWER_SETTLE_INSTRUCTIONS - 1;
    expect(input.pump()).toBe(true);
    cpu.count += 1;
    expect(input.pump()).toBe(false);
    guestReads();
    expect(reads).toEqual(["\x1b[1;1R", "x"]);
  });

  it("drain waits until the guest has every byte; afterRestore clears a stale data-ready", async () => {
    const { uart, guestReads, input } = rig();
    input.send("abc");
    expect(input.pending).toBe(3);
    expect(await input.drain(async () => guestReads())).toBe(0);
    uart.lsr = 0x61;
    input.afterRestore();
    expect(uart.lsr).toBe(0x60);
    expect(input.counters.staleDataReady).toBe(1);
    expect(input.selfCheck()).toEqual([]);
  });
});
