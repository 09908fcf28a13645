// StateKeeper against an in-memory IndexedDB (fake-indexeddb): a kept state is offered to the
// next visit, resumed once or discarded, and the tab keeps it again on hide only after a keep
// or a resume.
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { IdbStateStore } from "../browser/idb-state-store.ts";
import { StateKeeper } from "./kept-state.ts";

describe("StateKeeper", () => {
  it("keeps a state that the next visit offers, resumes once, and keeps on hide from then on", async () => {
    const factory = new IDBFactory();
    const open = () => IdbStateStore.open("states", factory);
    const first = new StateKeeper("vm1", open);
    expect(first.keepsOnHide).toBe(false);
    await first.keep(new Uint8Array([1, 2, 3]));
    expect(first.keepsOnHide).toBe(true);

    const next = new StateKeeper("vm1", open);
    expect(next.takeOffered()).toBeNull();
    const when = await next.offer();
    expect(when).toEqual(expect.any(String));
    expect(next.keepsOnHide).toBe(false);
    const taken = next.takeOffered();
    expect(taken).toEqual({ bytes: new Uint8Array([1, 2, 3]), label: `The state kept ${when}` });
    expect(next.keepsOnHide).toBe(true);
    // Taken once: the offer is over, and the record stays (the resumed VM keeps it again).
    expect(next.takeOffered()).toBeNull();
    expect(await new StateKeeper("vm1", open).offer()).toBe(when);
    // Another VM's name has nothing kept.
    expect(await new StateKeeper("vm2", open).offer()).toBeNull();
  });

  it("discards the state on offer from the browser, and nothing when none is on offer", async () => {
    const factory = new IDBFactory();
    const open = () => IdbStateStore.open("states", factory);
    await new StateKeeper("vm1", open).keep(new Uint8Array([7]));
    const keeper = new StateKeeper("vm1", open);
    await keeper.discardOffered();
    expect(await (await open()).get("vm1")).not.toBeNull();
    expect(await keeper.offer()).not.toBeNull();
    await keeper.discardOffered();
    expect(keeper.takeOffered()).toBeNull();
    expect(keeper.keepsOnHide).toBe(false);
    expect(await (await open()).get("vm1")).toBeNull();
  });

  it("offers nothing where the browser has no IndexedDB", async () => {
    const keeper = new StateKeeper("vm1", () => Promise.reject(new Error("no IndexedDB")));
    expect(await keeper.offer()).toBeNull();
    await expect(keeper.keep(new Uint8Array([1]))).rejects.toThrow("no IndexedDB");
  });
});
