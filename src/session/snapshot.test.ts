// window.v86msi.snapshot()'s building blocks: counters become plain JSON that survives
// page.evaluate (typed arrays as sparse objects, bigints as text), and a VM with no machine yet
// still says who it is.
import { describe, expect, it } from "vitest";
import { plain, snapshotVm } from "./snapshot.ts";
import { parseSettings } from "./settings.ts";
import { VmSession } from "./vm-session.ts";

describe("snapshot", () => {
  it("copies counters as plain JSON: typed arrays sparse, bigints as text, nesting kept", () => {
    const perVector = new Uint32Array(256);
    perVector[33] = 5;
    perVector[200] = 1;
    const out = plain({ messages: 6, perVector, nested: { features: 1n << 40n, list: [new Uint8Array([0, 2])] }, none: null });
    expect(out).toEqual({ messages: 6, perVector: { 33: 5, 200: 1 }, nested: { features: "1099511627776", list: [{ 1: 2 }] }, none: null });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it("a VM with no machine yet: its name, state and address, no counters", () => {
    const s = new VmSession({ index: 0, settings: parseSettings("?net=inbrowser").settings, guestIp: "192.168.88.9/24", network: () => null, wasmPath: "x" });
    expect(snapshotVm(s)).toEqual({ name: "vm1", state: "loading", guestIp: "192.168.88.9/24", router: null, tasks: null, faults: null, v86: null, devices: [], network: null });
  });
});
