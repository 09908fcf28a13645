// Keys typed at once after a restore all arrive (src/platform/v86/serial-input.ts). The test is
// the terminal: it answers the shell's cursor-position request (`ESC [ 6 n`, busybox's line
// editor asks after every prompt) and sends a long command line in the same write as the answer,
// the way a user typing into a just-restored page does (docs/save-restore.md, "Typing at once
// after a restore"; that part passed here with the answer's separation turned off too). And a
// line typed just before the save reaches the restored shell: v86 does not save its UART's
// receive queue, so the save lets the guest take it first (without that, this test fails: the
// line is gone).
import { describe, expect, it } from "vitest";
import { restoreFrom, saveMachine, type MachineSnapshot } from "../../src/machine/save-machine.ts";
import { bootGuest } from "../../src/node/boot.ts";
import type { Machine } from "../../src/machine/machine.ts";

const RESTORES = 5;
const LINES_PER_RESTORE = 4;

/** A command whose output is one line we can recognise, 100+ characters typed. */
const commandFor = (r: number, l: number) => {
  const token = `r${r}l${l}-${"abcdefghijklmnopqrstuvwxyz0123456789".repeat(3)}`;
  return { line: `echo ${token} | tr a-z A-Z\n`, expect: token.toUpperCase() };
};

describe("typing at once after a restore, under Node", () => {
  it(`every key of ${LINES_PER_RESTORE} long lines, sent with the terminal's answer, arrives after each of ${RESTORES} restores`, async () => {
    const first = await bootGuest({ devices: [] });
    // Something typed just before the save: v86 does not save its UART queue, so the save lets
    // the guest take it first.
    first.machine.sendSerial("echo typed-before-save\n");
    let snapshot: MachineSnapshot;
    try {
      snapshot = await saveMachine(first.machine);
    } finally {
      await first.shutdown();
    }
    let out = "";
    for (let r = 0; r < RESTORES; r++) {
      let next = 0;
      let seen = "";
      let machineOf: Machine | undefined;
      const wanted = Array.from({ length: LINES_PER_RESTORE }, (_, l) => commandFor(r, l));
      const terminal = (machine: Machine) => {
        machineOf = machine;
        machine.onSerial((text) => {
          seen += text;
          // Each request gets its answer and, in the same write, the next line.
          while (seen.includes("\x1b[6n")) {
            seen = seen.slice(seen.indexOf("\x1b[6n") + 4);
            machine.sendSerial(`\x1b[24;5R${next < wanted.length ? wanted[next++]!.line : ""}`);
          }
          out += text;
        });
      };
      const guest = await bootGuest({ devices: [], restore: restoreFrom(snapshot!), onMachine: terminal });
      try {
        const deadline = Date.now() + 90_000;
        const done = () => wanted.every((w) => new RegExp(`^${w.expect}\\r?$`, "m").test(out));
        while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        const missing = wanted.filter((w) => !new RegExp(`^${w.expect}\\r?$`, "m").test(out)).map((w) => w.expect);
        expect(missing, `restore ${r}: output ends with\n${out.slice(-600)}`).toEqual([]);
        expect(machineOf!.serialInput.counters.answers).toBeGreaterThanOrEqual(LINES_PER_RESTORE);
      } finally {
        await guest.shutdown();
      }
    }
    expect(out).toContain("typed-before-save");
  });
});
