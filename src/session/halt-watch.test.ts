import { describe, expect, it } from "vitest";
import { HaltWatch } from "./halt-watch.ts";

describe("halt watch", () => {
  it("finds a kernel panic split over chunks, with its reason", () => {
    const w = new HaltWatch();
    expect(w.feed("[   12.3] Kernel pa")).toBeNull();
    expect(w.feed("nic - not syncing: Attempted to kill init! exit")).toBeNull();
    const h = w.feed("code=0x00000000\r\n");
    expect(h?.title).toBe("The guest kernel panicked");
    expect(h?.detail).toBe("Kernel panic: Attempted to kill init! exitcode=0x00000000");
  });

  it("finds a power-off and a halt", () => {
    const off = new HaltWatch().feed("[  5.1] reboot: Power down\r\n");
    expect(off?.title).toBe("The guest powered off");
    expect(off?.detail).toMatch(/^The kernel said "reboot: Power down"/);
    expect(new HaltWatch().feed("reboot: System halted\n")?.title).toBe("The guest halted");
  });

  it("ignores ordinary output, including a reboot, and reports once", () => {
    const w = new HaltWatch();
    expect(w.feed("~ # echo reboot: Restarting system\r\nreboot: Restarting system\r\n")).toBeNull();
    expect(w.feed("~ # grep 'reboot: Power down' notes.txt\r\n")).toBeNull();
    expect(w.feed("reboot: Power down\n")).not.toBeNull();
    expect(w.feed("more text\n")).toBeNull();
  });
});
