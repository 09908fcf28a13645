import { describe, expect, it } from "vitest";
import { dmesgSeconds, statStartSeconds } from "./guest-clock.ts";

describe("guest clock", () => {
  const dmesg = [
    "[    0.000000] Linux version 6.12.117 (guest@v86)",
    "[    1.638078] Unpacking initramfs...",
    "[   12.961751] Run /init as init process",
    "[   13.000000] Run /init as init process (a second one is ignored)",
  ].join("\n");

  it("finds the first dmesg line with the text and returns its time stamp in seconds", () => {
    expect(dmesgSeconds(dmesg, "Unpacking initramfs")).toBeCloseTo(1.638078, 6);
    expect(dmesgSeconds(dmesg, "Run /init as init process")).toBeCloseTo(12.961751, 6);
  });

  it("gives NaN for a line that is not there or has no time stamp", () => {
    expect(dmesgSeconds(dmesg, "Freeing initrd memory")).toBeNaN();
    expect(dmesgSeconds("Run /init as init process", "Run /init")).toBeNaN();
  });

  it("reads a process's start time (field 22, clock ticks) in seconds", () => {
    const stat = "47 (sh) S 1 47 47 1088 48 4194304 122 0 0 0 19 52 0 0 20 0 1 0 1388 2379776 365 4294967295";
    expect(statStartSeconds(stat)).toBeCloseTo(13.88, 6);
  });

  it("counts fields after the command name, which may hold spaces and parentheses", () => {
    const stat = "47 (my (odd) sh) S 1 47 47 1088 48 4194304 122 0 0 0 19 52 0 0 20 0 1 0 250 2379776 365";
    expect(statStartSeconds(stat)).toBeCloseTo(2.5, 6);
  });

  it("gives NaN for a truncated line", () => {
    expect(statStartSeconds("47 (sh) S 1 47")).toBeNaN();
  });
});
