// The bus backend against a copy of v86's BusConnector pair (src/bus.js) and a stand-in for
// its fetch adapter wired the way fetch_network.js wires itself.

import { describe, expect, it } from "vitest";
import { TestDriver } from "../../testing/test-driver.ts";
import { NET_HDR_SIZE, QUEUE } from "./constants.ts";
import { NetDevice } from "./device.ts";
import { V86BusBackend, type V86Bus } from "./v86-bus-backend.ts";
import { concat, ethFrame, txHeader } from "../../testing/net-frames.ts";

type Listener = { fn: (v: unknown) => void; thisValue: unknown };

/** v86's BusConnector: send() calls the listeners registered on the *other* end. */
class Connector implements V86Bus {
  readonly listeners = new Map<string, Listener[]>();
  pair: Connector | null = null;
  register(name: string, fn: (v: unknown) => void, thisValue?: unknown): void {
    const l = this.listeners.get(name) ?? [];
    l.push({ fn, thisValue });
    this.listeners.set(name, l);
  }
  unregister(name: string, fn: (v: unknown) => void): void {
    this.listeners.set(name, (this.listeners.get(name) ?? []).filter((l) => l.fn !== fn));
  }
  send(name: string, value?: unknown): void {
    for (const l of this.pair?.listeners.get(name) ?? []) l.fn.call(l.thisValue, value);
  }
}

function busPair(): [adapterSide: Connector, emulatorSide: Connector] {
  const a = new Connector();
  const b = new Connector();
  a.pair = b;
  b.pair = a;
  return [a, b];
}

/** Like FetchNetworkAdapter: learns vm_mac from net0-mac, answers every frame to vm_mac from a reused buffer. */
class FakeAdapter {
  vmMac = "";
  readonly seen: Uint8Array[] = [];
  readonly #buf = new Uint8Array(1514);
  constructor(readonly bus: Connector) {
    bus.register("net0-mac", (mac) => (this.vmMac = String(mac)));
    bus.register("net0-send", (data) => {
      const frame = data as Uint8Array;
      this.seen.push(frame);
      const reply = ethFrame(this.vmMac, "52:54:00:01:02:03", 60, 0x0806);
      this.#buf.set(reply);
      this.bus.send("net0-receive", this.#buf.subarray(0, reply.length));
      this.#buf.fill(0x77); // the adapter reuses its buffer at once
    });
  }
}

describe("V86BusBackend", () => {
  it("sends net0-send, receives net0-receive, announces net0-mac on attach and on change", () => {
    const [adapterBus, emulatorBus] = busPair();
    const adapter = new FakeAdapter(adapterBus);
    const backend = new V86BusBackend();
    const got: Uint8Array[] = [];
    backend.onReceive((f) => got.push(f.slice()));
    backend.send(ethFrame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01"));
    expect(backend.counters.txNotAttached).toBe(1);
    backend.setMac(Uint8Array.of(2, 0, 0, 0, 0, 1));
    backend.attach(emulatorBus);
    expect(adapter.vmMac).toBe("02:00:00:00:00:01");
    backend.send(ethFrame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01"));
    expect(adapter.seen).toHaveLength(1);
    expect(got).toHaveLength(1);
    expect(got[0]!.subarray(0, 6)).toEqual(Uint8Array.of(2, 0, 0, 0, 0, 1));
    backend.setMac(Uint8Array.of(2, 0, 0, 0, 0, 2));
    expect(adapter.vmMac).toBe("02:00:00:00:00:02");
    // Non-byte values are counted, ArrayBuffers accepted.
    adapterBus.send("net0-receive", "nonsense");
    adapterBus.send("net0-receive", new ArrayBuffer(60));
    expect(backend.counters).toMatchObject({ rxBadValue: 1, rxFrames: 2, txFrames: 1, macAnnouncements: 2 });
    backend.close();
    adapterBus.send("net0-receive", new Uint8Array(60));
    expect(backend.counters.rxFrames).toBe(2);
    expect(emulatorBus.listeners.get("net0-receive")).toHaveLength(0);
  });

  it("a NetDevice on the bus: its frame reaches the adapter, the adapter's answer (from a reused buffer) reaches the guest intact", () => {
    const [adapterBus, emulatorBus] = busPair();
    const adapter = new FakeAdapter(adapterBus);
    const backend = new V86BusBackend({ bus: emulatorBus });
    const dev = new NetDevice({ backend, mac: "02:00:00:00:00:05" });
    expect(adapter.vmMac).toBe("02:00:00:00:00:05");
    const d = new TestDriver({ device: dev });
    d.init();
    const buf = d.addChain(QUEUE.RX0, { writable: [1536] });
    d.kick(QUEUE.RX0);
    const frame = ethFrame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:05", 42, 0x0806);
    d.addChain(QUEUE.TX0, { readable: [concat(txHeader(), frame)] });
    d.kick(QUEUE.TX0);
    expect(adapter.seen).toEqual([frame]);
    expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: buf.head, len: NET_HDR_SIZE + 60 }]);
    const got = d.read(buf.writable[0]!.addr + NET_HDR_SIZE, 60);
    expect(got).toEqual(ethFrame("02:00:00:00:00:05", "52:54:00:01:02:03", 60, 0x0806));
  });
});
