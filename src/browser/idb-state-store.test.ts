// IdbStateStore against an in-memory IndexedDB (fake-indexeddb): a kept state comes back after a
// reopen (what a page reload does), a later keep replaces it, delete forgets it, and a record of
// another shape reads as nothing.
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { IdbStateStore } from "./idb-state-store.ts";

describe("IdbStateStore", () => {
  it("keeps a state across opens, replaces it, forgets it", async () => {
    const factory = new IDBFactory();
    const first = await IdbStateStore.open("states-a", factory);
    expect(await first.get("vm1")).toBeNull();
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    await first.put("vm1", bytes, 1234);
    bytes.fill(0); // the store has its own copy from put() on
    first.close();

    const again = await IdbStateStore.open("states-a", factory);
    const kept = (await again.get("vm1"))!;
    expect(kept.savedAt).toBe(1234);
    expect(kept.bytes).toEqual(Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff));
    expect(await again.get("vm2")).toBeNull();
    await again.put("vm1", new Uint8Array([7]), 99);
    expect(await again.get("vm1")).toEqual({ bytes: new Uint8Array([7]), savedAt: 99 });
    await again.delete("vm1");
    expect(await again.get("vm1")).toBeNull();
    again.close();
  });

  it("reads a record of another shape as nothing", async () => {
    const factory = new IDBFactory();
    const store = await IdbStateStore.open("states-b", factory);
    store.close();
    const raw = await new Promise<IDBDatabase>((resolve) => {
      const r = factory.open("states-b", 1);
      r.onsuccess = () => resolve(r.result);
    });
    const tx = raw.transaction("states", "readwrite");
    tx.objectStore("states").put({ bytes: "not bytes", savedAt: 1 }, "vm1");
    tx.objectStore("states").put(42, "vm2");
    await new Promise((resolve) => (tx.oncomplete = resolve));
    raw.close();
    const reopened = await IdbStateStore.open("states-b", factory);
    expect(await reopened.get("vm1")).toBeNull();
    expect(await reopened.get("vm2")).toBeNull();
    reopened.close();
  });
});
