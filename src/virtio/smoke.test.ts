import { describe, expect, it } from "vitest";
import { TestDriver } from "./testing/test-driver.ts";
import { EchoDevice } from "./testing/echo-device.ts";

describe("smoke", () => {
  it("echoes", () => {
    const dev = new EchoDevice();
    const d = new TestDriver({ device: dev, msi: { vectors: 4, sharing: false } });
    const r = d.init();
    expect(r.ok).toBe(true);
    const c = d.addChain(0, { readable: [new Uint8Array([1, 2, 3])], writable: [3] });
    expect(d.kick(0)).toEqual([{ id: c.head, len: 3 }]);
    expect(Array.from(d.read(c.writable[0]!.addr, 3))).toEqual([1, 2, 3]);
    expect(d.lineEvents).toEqual(["raise"]);
    const c2 = d.addChain(0, { readable: [new Uint8Array([9])], writable: [1] }, { indirect: true });
    expect(d.kick(0)).toEqual([{ id: c2.head, len: 1 }]);
    console.log(d.transport.counters.errors, d.transport.state().queues[0]);
  });
  it("msi", () => {
    const dev = new EchoDevice();
    const d = new TestDriver({ device: dev, msi: { vectors: 4, sharing: false } });
    expect(d.init({ msi: "fixed" }).ok).toBe(true);
    d.addChain(0, { readable: [new Uint8Array([1])], writable: [1] });
    d.kick(0);
    expect(d.msiWrites).toEqual([{ addr: 0xfee00000, data: 0x41 }]);
  });
});
