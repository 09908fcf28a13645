// lockClosure, which gives examples/minimal's scratch project a lockfile cut from ours.
import { describe, expect, it } from "vitest";
import { lockClosure } from "./example-project.ts";

const LOCK = {
  "node_modules/app": { version: "1.0.0", dependencies: { lib: "^2.0.0", util: "^1.0.0" }, optionalDependencies: { fsevents: "~2.3.3" }, dev: true },
  "node_modules/lib": { version: "2.1.0", dependencies: { util: "^2.0.0" }, peerDependencies: { host: "*", extra: "*" }, peerDependenciesMeta: { extra: { optional: true } } },
  // lib needs util 2, nested under it; app gets the hoisted util 1.
  "node_modules/lib/node_modules/util": { version: "2.0.0", license: "MIT" },
  "node_modules/util": { version: "1.0.0" },
  "node_modules/host": { version: "3.0.0", peer: true },
  "node_modules/extra": { version: "1.0.0" },
  "node_modules/unrelated": { version: "9.9.9" },
};

describe("lockClosure", () => {
  it("takes a package and what it needs, each from the nearest node_modules, without this tree's flags", () => {
    const picked = lockClosure(LOCK, ["app"]);
    expect(Object.keys(picked).sort()).toEqual([
      "node_modules/app",
      "node_modules/host",
      "node_modules/lib",
      "node_modules/lib/node_modules/util",
      "node_modules/util",
    ]);
    expect(picked["node_modules/app"]).not.toHaveProperty("dev");
    expect(picked["node_modules/host"]).not.toHaveProperty("peer");
    expect(picked["node_modules/lib/node_modules/util"]).toEqual({ version: "2.0.0", license: "MIT" });
  });

  it("skips an optional dependency the lock lacks (another platform's), refuses a missing required one", () => {
    expect(Object.keys(lockClosure(LOCK, ["lib"]))).toHaveLength(3);
    expect(() => lockClosure({ "node_modules/a": { dependencies: { gone: "1" } } }, ["a"])).toThrow(/has no gone for node_modules\/a/);
    expect(() => lockClosure(LOCK, ["nothing"])).toThrow(/has no nothing for the root/);
  });
});
