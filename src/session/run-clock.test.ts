// The status line's uptime: the guest's running time, which stands still while it is paused,
// stopped or failed, and starts from zero with each new machine.
import { describe, expect, it } from "vitest";
import { RunClock } from "./run-clock.ts";

describe("RunClock", () => {
  it("counts booting and running, not paused; a new machine starts from zero", () => {
    let now = 1000;
    const clock = new RunClock(() => now);
    expect(clock.state).toBe("loading");
    expect(clock.begun).toBe(false);
    clock.set("booting");
    now += 500; // before begin(): the images and the build, not the guest
    clock.begin();
    expect(clock.begun).toBe(true);
    expect(clock.ranMs).toBe(0);
    clock.set("booting");
    now += 2000;
    clock.set("running");
    now += 1000;
    expect(clock.ranMs).toBe(3000);
    clock.set("paused");
    now += 60_000;
    expect(clock.ranMs).toBe(3000);
    clock.set("running");
    now += 250;
    expect(clock.ranMs).toBe(3250);
    clock.set("stopped");
    clock.set("error");
    now += 10_000;
    expect(clock.ranMs).toBe(3250);
    expect(clock.state).toBe("error");
    clock.begin();
    clock.set("booting");
    now += 40;
    expect(clock.ranMs).toBe(40);
  });
});
