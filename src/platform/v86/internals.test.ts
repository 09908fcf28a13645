import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { V86_VERSION } from "./internals.ts";

const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8"));

describe("the v86 the platform was checked against", () => {
  it("is pinned exactly in package.json and package-lock.json", () => {
    expect(json("../../../package.json").dependencies.v86).toBe(V86_VERSION);
    const lock = json("../../../package-lock.json");
    expect(lock.packages[""].dependencies.v86).toBe(V86_VERSION);
    expect(lock.packages["node_modules/v86"].version).toBe(V86_VERSION);
  });

  it("is the one installed (its package.json carries the build's commit after a +)", () => {
    expect(json("../../../node_modules/v86/package.json").version.split("+")[0]).toBe(V86_VERSION);
  });
});
