// Save and restore of a running virtio-net NIC with its transport: the driver's address and
// filter, the link, config generation, a receive buffer taken but not filled and frames waiting
// for buffers all survive into a fresh transport, device and backend; the frames arrive once,
// in order, byte-exact. Bad states are refused before anything is applied.

import { describe, expect, it } from "vitest";
import { REG } from "../../virtio/constants.ts";
import { TestDriver } from "../../testing/test-driver.ts";
import { CTRL_ACK, CTRL_CLASS, CTRL_MAC, CTRL_RX, NET_CFG, NET_HDR_SIZE, QUEUE } from "./constants.ts";
import { applyNetState, checkNetState, saveNetState } from "./device-state.ts";
import { NetDevice } from "./device.ts";
import { rxFrameRefusal } from "./receive.ts";
import { formatMac, parseMac } from "./mac.ts";
import { CaptureBackend } from "../../testing/net-capture-backend.ts";
import { ethFrame, txHeader, concat } from "../../testing/net-frames.ts";

const OUR_MAC = "52:54:00:12:34:56";
const NEW_MAC = "02:aa:bb:cc:dd:ee";
const PEER = "52:54:00:01:02:03";
type Mode = "fixed" | "none";

function machine(mode: Mode, ram?: Uint8Array) {
  const backend = new CaptureBackend();
  const dev = new NetDevice({ backend, queueSize: 32 });
  const msi = mode === "fixed" ? { layout: "2020" as const, vectors: 4, sharing: false } : false;
  const d = new TestDriver({ device: dev, msi, ...(ram ? { ram } : { ramSize: 2 << 20 }) });
  return { d, dev, backend };
}

function control(d: TestDriver, cls: number, cmd: number, data: Uint8Array): number {
  const c = d.addChain(QUEUE.CTRL, { readable: [Uint8Array.of(cls, cmd), data], writable: [1] });
  d.kick(QUEUE.CTRL);
  return d.read(c.writable[0]!.addr, 1)[0]!;
}

describe("virtio-net save and restore", () => {
  it.each(["fixed", "none"] as const)("%s: filter, address, held buffer and backlog survive; frames arrive once, in order", (mode) => {
    const a = machine(mode);
    expect(a.d.init({ msi: mode }).ok).toBe(true);
    expect(control(a.d, CTRL_CLASS.RX, CTRL_RX.PROMISC, Uint8Array.of(0))).toBe(CTRL_ACK.OK);
    expect(control(a.d, CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, parseMac(NEW_MAC))).toBe(CTRL_ACK.OK);
    // One small buffer: a 300-byte frame (MRG_RXBUF) takes it and waits for more.
    const small = a.d.addChain(QUEUE.RX0, { writable: [200] });
    a.d.notify(QUEUE.RX0);
    a.d.runTasks();
    const f1 = ethFrame(NEW_MAC, PEER, 300, 0x0800, 1);
    const f2 = ethFrame(NEW_MAC, PEER, 120, 0x0800, 2);
    a.backend.inject(f1);
    a.backend.inject(f2);
    expect(a.dev.state().heldRxBuffers).toBe(1);
    expect(a.dev.counters.backlogFrames).toBe(2);
    const gen = a.d.read32("ConfigGeneration");

    const json = JSON.stringify({ transport: a.d.transport.saveState(), net: saveNetState(a.dev) });
    const b = machine(mode, a.d.ram.slice());
    b.d.continueFrom(a.d);
    const s = JSON.parse(json) as { transport: unknown; net: unknown };
    const net = checkNetState(b.dev, s.net);
    b.d.transport.restoreState(s.transport);
    applyNetState(b.dev, net);
    b.d.runTasks(); // the rx notify: the held buffer is taken again, f1 still needs more room

    expect(formatMac(b.dev.mac)).toBe(NEW_MAC);
    expect(b.d.transport.read(REG.Config + NET_CFG.MAC + 1, 1)).toBe(0xaa);
    expect(formatMac(b.backend.macs.at(-1)!)).toBe(NEW_MAC); // the new backend learns the address
    expect(b.d.read32("ConfigGeneration")).toBe(gen);
    expect(b.dev.state()).toMatchObject({ promisc: false, linkUp: true, heldRxBuffers: 1 });
    expect(b.d.takeUsed(QUEUE.RX0)).toEqual([]);

    const more = [0, 1].map(() => b.d.addChain(QUEUE.RX0, { writable: [512] }));
    b.d.notify(QUEUE.RX0);
    b.d.runTasks();
    const used = b.d.takeUsed(QUEUE.RX0);
    expect(used.map((u) => u.id)).toEqual([small.head, more[0]!.head, more[1]!.head]);
    const got1 = concat(b.d.read(small.writable[0]!.addr, 200), b.d.read(more[0]!.writable[0]!.addr, used[1]!.len));
    expect(got1.subarray(NET_HDR_SIZE)).toEqual(f1);
    expect(b.d.read(more[1]!.writable[0]!.addr + NET_HDR_SIZE, f2.length)).toEqual(f2);
    expect(b.dev.counters).toMatchObject({ rxPackets: 2, backlogFrames: 0 });

    // The filter still holds: a frame to the old address is refused, one to the new one taken.
    b.d.addChain(QUEUE.RX0, { writable: [512] });
    b.d.notify(QUEUE.RX0);
    b.d.runTasks();
    b.backend.inject(ethFrame(OUR_MAC, PEER));
    b.backend.inject(ethFrame(NEW_MAC, PEER, 64, 0x0800, 3));
    expect(b.dev.counters).toMatchObject({ rxPackets: 3, rxDropFiltered: 1 });
    // Transmit goes out through the new backend.
    const tx = ethFrame(PEER, NEW_MAC, 90);
    b.d.addChain(QUEUE.TX0, { readable: [concat(txHeader(), tx)] });
    expect(b.d.kick(QUEUE.TX0)).toHaveLength(1);
    expect(b.backend.sent).toEqual([tx]);
    expect(a.backend.sent).toEqual([]);
  });

  it("refuses a state of another NIC or an edited one and changes nothing", () => {
    const a = machine("fixed");
    a.d.init({ msi: "fixed" });
    a.backend.inject(ethFrame(OUR_MAC, PEER, 80));
    const good = JSON.parse(JSON.stringify(saveNetState(a.dev))) as Record<string, any>;
    expect(good.backlog).toHaveLength(1);
    const other = new NetDevice({ backend: new CaptureBackend(), queueSize: 64 });
    const bad: [unknown, RegExp][] = [
      [{ ...good, kind: "virtio-blk" }, /kind: expected "virtio-net"/],
      [{ ...good, version: 9 }, /version: expected 1, got 9/],
      [{ ...good, mac: "zz" }, /mac: not an address/],
      [{ ...good, configGeneration: -1 }, /configGeneration: expected a u32/],
      [{ ...good, backlog: ["abc"] }, /backlog\[0\]: expected hex bytes/],
      [{ ...good, backlog: ["00".repeat(4000)] }, /backlog\[0\]: a frame of 4000 bytes/],
      [{ ...good, backlog: Array(65).fill("00".repeat(60)) }, /backlog: expected at most 64 frames/],
      [{ ...good, filter: { ...good.filter, unicast: [2 ** 48] } }, /filter.unicast\[0\]: expected a 48-bit address key/],
      [{ ...good, filter: { ...good.filter, promisc: "yes" } }, /filter.promisc: expected true or false/],
      [{ ...good, extra: 1 }, /extra: unknown field/],
      [{ ...good, mtu: 9000 }, /mtu: saved 9000/],
    ];
    for (const [state, message] of bad) expect(() => checkNetState(a.dev, state)).toThrow(message);
    expect(() => checkNetState(other, good)).toThrow(/queueMaxSizes: saved \[32,32,32\], this NIC has \[64,64,64\]/);
    const before = a.dev.state();
    expect(a.dev.counters.backlogFrames).toBe(1);
    expect(a.dev.state()).toEqual(before);
    expect(checkNetState(a.dev, good).guest.backlog[0]).toEqual(ethFrame(OUR_MAC, PEER, 80));
  });

  it("a waiting frame obeys the receive path's own size rule: what it drops, a state file cannot carry", () => {
    const a = machine("fixed");
    a.d.init({ msi: "fixed" });
    const good = JSON.parse(JSON.stringify(saveNetState(a.dev))) as Record<string, any>;
    const hex = (f: Uint8Array) => Array.from(f, (x) => x.toString(16).padStart(2, "0")).join("");
    const cases: [Uint8Array, "tooBig" | "tooSmall"][] = [
      // Untagged, one VLAN tag's length over: the NIC drops it on receive, so it never waited.
      [ethFrame(OUR_MAC, PEER, a.dev.mtu + 14 + 4), "tooBig"],
      [ethFrame(OUR_MAC, PEER, 14).subarray(0, 10), "tooSmall"],
    ];
    for (const [frame, counter] of cases) {
      const key = counter === "tooBig" ? "rxDropTooBig" : "rxDropTooSmall";
      const before = a.dev.counters[key];
      a.backend.inject(frame);
      expect(a.dev.counters[key]).toBe(before + 1);
      const r = rxFrameRefusal(frame, a.dev.mtu)!;
      expect(r.counter).toBe(counter);
      expect(() => checkNetState(a.dev, { ...good, backlog: [hex(frame)] })).toThrow(`backlog[0]: ${r.why} (${counter})`);
    }
    // A tagged frame of that length is within the rule, on receive and in a state file.
    const tagged = ethFrame(OUR_MAC, PEER, a.dev.mtu + 14 + 4, 0x8100);
    expect(rxFrameRefusal(tagged, a.dev.mtu)).toBeNull();
    expect(checkNetState(a.dev, { ...good, backlog: [hex(tagged)] }).guest.backlog[0]).toEqual(tagged);
  });
});
