import { describe, expect, it } from "vitest";
import { PROFILE_CATEGORIES, categorize, startHostProfile } from "./host-profile.ts";

describe("host profile categories", () => {
  it("sorts v86's functions, its JIT output and the rest", () => {
    const v86 = (functionName: string) => categorize({ functionName, url: "file:///x/node_modules/v86/build/v86.wasm" });
    expect(v86("main_loop")).toBe("v86 main loop");
    expect(v86("_RNvNtNtCslOG1uufA09K_3v863gen11interpreter3run")).toBe("v86 interpreter");
    expect(v86("_RNvNtCslOG1uufA09K_3v863jit24jit_analyze_and_generate")).toBe("v86's JIT compiling");
    expect(categorize({ functionName: "wasm-function[15]", url: "000451b2" })).toBe("guest code compiled by v86's JIT");
    expect(categorize({ functionName: "instantiate", url: "" })).toBe("v86's JIT compiling");
    expect(categorize({ functionName: "(idle)", url: "" })).toBe("idle");
    expect(categorize({ functionName: "drain", url: "file:///x/src/platform/task-queue.ts" })).toBe("our devices and platform");
    expect(categorize({ functionName: "get", url: "file:///x/node_modules/v86/build/libv86.mjs" })).toBe("v86's JavaScript (its devices, timers, loop)");
    expect(categorize({ functionName: "sh", url: "file:///x/bench/lib/guest.ts" })).toBe("everything else");
  });

  it("samples this process: a JavaScript busy loop is 'everything else', and the shares add up to one", async () => {
    const profile = await startHostProfile(200);
    let x = 0;
    const until = performance.now() + 200;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const shares = await profile.stop();
    expect(x).toBeGreaterThan(0);
    expect(shares["everything else"]).toBeGreaterThan(0.5);
    expect(PROFILE_CATEGORIES.reduce((sum, c) => sum + shares[c], 0)).toBeCloseTo(1, 6);
  });
});
