import { describe, expect, it } from "vitest";
import { TestDriver } from "../../testing/test-driver.ts";
import { NET_HDR_SIZE, QUEUE } from "./constants.ts";
import { NetDevice } from "./device.ts";
import { VirtualSwitch } from "./switch.ts";
import { CaptureBackend } from "../../testing/net-capture-backend.ts";
import { BROADCAST, concat, ethFrame, txHeader } from "../../testing/net-frames.ts";

const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";
const C = "02:00:00:00:00:0c";

/** Three ports with recorders on them. */
function threePorts(maxMacs?: number) {
  const sw = new VirtualSwitch(maxMacs === undefined ? {} : { maxMacs });
  const got: Record<"a" | "b" | "c", Uint8Array[]> = { a: [], b: [], c: [] };
  const ports = Object.fromEntries(
    (["a", "b", "c"] as const).map((n) => {
      const p = sw.createPort(n);
      p.onReceive((f) => got[n].push(f));
      return [n, p];
    }),
  ) as Record<"a" | "b" | "c", ReturnType<VirtualSwitch["createPort"]>>;
  return { sw, ports, got };
}

describe("VirtualSwitch", () => {
  it("floods the unknown, learns from sources, then forwards to one port", () => {
    const { sw, ports, got } = threePorts();
    ports.a.send(ethFrame(B, A)); // B unknown: flooded to b and c; A learnt on a
    expect([got.a.length, got.b.length, got.c.length]).toEqual([0, 1, 1]);
    ports.b.send(ethFrame(A, B)); // A known: only a; B learnt on b
    expect([got.a.length, got.b.length, got.c.length]).toEqual([1, 1, 1]);
    ports.a.send(ethFrame(B, A));
    expect([got.a.length, got.b.length, got.c.length]).toEqual([1, 2, 1]);
    ports.c.send(ethFrame(BROADCAST, C));
    expect([got.a.length, got.b.length, got.c.length]).toEqual([2, 3, 1]);
    ports.a.send(ethFrame(A, A)); // to its own segment: dropped
    expect(sw.counters).toMatchObject({ frames: 5, forwarded: 2, flooded: 2, sameSegment: 1, learned: 3, tableSize: 3 });
    expect(sw.macTable()).toContainEqual({ mac: B, port: "b" });
    expect(ports.a.counters).toMatchObject({ inFrames: 3, outFrames: 2 });
  });

  it("follows a station that moves, forgets a closed port's stations, ignores runts", () => {
    const { sw, ports, got } = threePorts();
    ports.a.send(ethFrame(BROADCAST, A));
    ports.c.send(ethFrame(BROADCAST, A)); // A moved to c
    expect(got.a.length).toBe(1); // c's broadcast
    ports.b.send(ethFrame(A, B)); // to c only now
    expect(got.c.length).toBe(2);
    expect(got.a.length).toBe(1);
    expect(sw.counters.moves).toBe(1);
    ports.c.close();
    expect(sw.ports.map((p) => p.name)).toEqual(["a", "b"]);
    expect(sw.macTable().map((e) => e.mac)).toEqual([B]);
    ports.b.send(new Uint8Array(10));
    expect(sw.counters.runts).toBe(1);
  });

  it("keeps its table bounded, evicting the least recently seen", () => {
    const { sw, ports } = threePorts(4);
    for (let i = 0; i < 1000; i++) {
      const src = `02:00:00:00:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}`;
      ports.a.send(ethFrame(BROADCAST, src));
      expect(sw.counters.tableSize).toBeLessThanOrEqual(4);
    }
    expect(sw.counters).toMatchObject({ learned: 1000, evictions: 996, tableSize: 4 });
  });

  it("stops a forwarding loop instead of recursing forever", () => {
    const sw = new VirtualSwitch({ maxDepth: 8 });
    const a = sw.createPort("a");
    const b = sw.createPort("b");
    const c = sw.createPort("c");
    // b and c echo every frame straight back in: each broadcast floods to the other, forever.
    b.onReceive((f) => b.send(f));
    c.onReceive((f) => c.send(f));
    let atA = 0;
    a.onReceive(() => atA++);
    a.send(ethFrame(BROADCAST, A));
    expect(sw.counters.loopDrops).toBeGreaterThan(0);
    expect(atA).toBeGreaterThan(0);
    expect(sw.counters.frames).toBeLessThan(1000);
  });

  it("joins another backend as an uplink port", () => {
    const sw = new VirtualSwitch();
    const uplink = new CaptureBackend();
    const up = sw.connect(uplink, "uplink");
    const nic = sw.createPort("nic");
    const got: Uint8Array[] = [];
    nic.onReceive((f) => got.push(f));
    nic.send(ethFrame(BROADCAST, A));
    expect(uplink.sent).toHaveLength(1);
    uplink.inject(ethFrame(A, "52:54:00:01:02:03"));
    expect(got).toHaveLength(1);
    up.close();
    uplink.inject(ethFrame(A, "52:54:00:01:02:03"));
    expect(got).toHaveLength(1);
  });
});

describe("VirtualSwitch between two NetDevices", () => {
  for (const mode of ["fixed", "none"] as const) {
    it(`a frame from A's transmit queue lands in B's receive buffers (msi ${mode})`, () => {
      const sw = new VirtualSwitch();
      const devA = new NetDevice({ backend: sw.createPort("a"), mac: A, name: "netA" });
      const devB = new NetDevice({ backend: sw.createPort("b"), mac: B, name: "netB" });
      const msi = mode === "fixed" ? { layout: "2020" as const, vectors: 4, sharing: false } : false;
      const dA = new TestDriver({ device: devA, msi });
      const dB = new TestDriver({ device: devB, msi });
      expect(dA.init({ msi: mode }).ok && dB.init({ msi: mode }).ok).toBe(true);
      const bufA = dA.addChain(QUEUE.RX0, { writable: [1536] });
      const bufB = dB.addChain(QUEUE.RX0, { writable: [1536] });
      dA.kick(QUEUE.RX0);
      dB.kick(QUEUE.RX0);

      const frame = ethFrame(B, A, 200);
      dA.addChain(QUEUE.TX0, { readable: [concat(txHeader(), frame)] });
      expect(dA.kick(QUEUE.TX0)).toHaveLength(1);
      dB.runTasks();
      expect(dB.takeUsed(QUEUE.RX0)).toEqual([{ id: bufB.head, len: NET_HDR_SIZE + 200 }]);
      expect(dB.read(bufB.writable[0]!.addr + NET_HDR_SIZE, 200)).toEqual(frame);
      if (mode === "fixed") expect(dB.msiWrites.map((w) => w.data)).toContain(0x41 + QUEUE.RX0);
      else expect(dB.lineHigh).toBe(true);

      // The reply goes back to A only (B learnt A's port from the first frame).
      const reply = ethFrame(A, B, 90);
      dB.addChain(QUEUE.TX0, { readable: [txHeader(), reply] });
      dB.kick(QUEUE.TX0);
      expect(dA.takeUsed(QUEUE.RX0)).toEqual([{ id: bufA.head, len: NET_HDR_SIZE + 90 }]);
      expect(sw.counters).toMatchObject({ flooded: 1, forwarded: 1 });
      expect(devA.counters).toMatchObject({ txPackets: 1, rxPackets: 1 });
      expect(devB.counters).toMatchObject({ txPackets: 1, rxPackets: 1 });
    });
  }
});
