// The network device driven end to end through the real MmioTransport, SplitQueue and
// RamMemory by the driver-side TestDriver, with per-queue MSIs ("fixed") and with the line.

import { describe, expect, it } from "vitest";
import { FEATURE, INTERRUPT, REG } from "../../virtio/constants.ts";
import { TestDriver, type InitOptions } from "../../testing/test-driver.ts";
import {
  CTRL_ACK, CTRL_CLASS, CTRL_MAC, CTRL_RX, NET_CFG, NET_F, NET_HDR, NET_HDR_F, NET_HDR_GSO, NET_HDR_SIZE, NET_S, QUEUE,
  RING_F, bit,
} from "./constants.ts";
import { NetDevice, type NetDeviceOptions } from "./device.ts";
import { formatMac, parseMac } from "./mac.ts";
import { CaptureBackend } from "../../testing/net-capture-backend.ts";
import { BROADCAST, concat, ethFrame, txHeader, udpChecksumOk, udpFrame } from "../../testing/net-frames.ts";

const OUR_MAC = "52:54:00:12:34:56";
const PEER = "52:54:00:01:02:03";
const MODES = ["fixed", "none"] as const;
type Mode = (typeof MODES)[number];

/** Linux's small-buffer size without MRG_RXBUF: header + 1518. */
const BIG_BUF = NET_HDR_SIZE + 1518;

function setup(mode: Mode, o: Partial<NetDeviceOptions> = {}, init: InitOptions = {}) {
  const backend = new CaptureBackend();
  const dev = new NetDevice({ backend, ...o });
  const d = new TestDriver({ device: dev, msi: mode === "fixed" ? { layout: "2020" as const, vectors: dev.queueMaxSizes.length + 1, sharing: false } : false });
  expect(d.init({ msi: mode, ...init }).ok).toBe(true);
  return { dev, d, backend };
}

/** Everything offered but MRG_RXBUF (and MMIO_MSI without MSI, as init's default drops it). */
const noMrg = (mode: Mode): InitOptions => ({
  features: (offered) => offered & ~bit(NET_F.MRG_RXBUF) & (mode === "none" ? ~FEATURE.MMIO_MSI : ~0n),
});

/** Interrupts since the last call: queue indices (MSI) or "used" (line), and config. */
function takeIrqs(d: TestDriver, mode: Mode): { used: (number | "used")[]; config: boolean } {
  d.runTasks();
  if (mode === "fixed") {
    const writes = d.msiWrites.splice(0);
    return {
      used: writes.filter((w) => w.data > 0x40).map((w) => w.data - 0x41),
      config: writes.some((w) => w.data === 0x40),
    };
  }
  if (!d.lineHigh) return { used: [], config: false };
  const s = d.handleLineInterrupt();
  d.runTasks();
  return { used: s & INTERRUPT.USED_BUFFER ? ["used"] : [], config: (s & INTERRUPT.CONFIG_CHANGE) !== 0 };
}

function expectUsedIrq(d: TestDriver, mode: Mode, queue: number): void {
  expect(takeIrqs(d, mode).used).toContain(mode === "fixed" ? queue : "used");
}

/** Posts `n` receive buffers of `len` bytes and kicks the rx queue, as Linux's refill does. */
function postRx(d: TestDriver, n: number, len: number) {
  const chains = Array.from({ length: n }, () => d.addChain(QUEUE.RX0, { writable: [len] }));
  d.notify(QUEUE.RX0);
  d.runTasks();
  return chains;
}

/** One frame: header and data in one descriptor (Linux's can_push) or two. */
function transmit(d: TestDriver, frame: Uint8Array, o: { header?: Uint8Array; split?: boolean; indirect?: boolean } = {}) {
  const hdr = o.header ?? txHeader();
  const readable = o.split ? [hdr, frame] : [concat(hdr, frame)];
  const c = d.addChain(QUEUE.TX0, { readable }, { indirect: o.indirect ?? false });
  return { chain: c, used: d.kick(QUEUE.TX0) };
}

/** A control command: header, data, one writable ack byte. Returns the ack. */
function control(d: TestDriver, cls: number, cmd: number, data: Uint8Array = new Uint8Array(0)): number {
  const c = d.addChain(QUEUE.CTRL, { readable: [Uint8Array.of(cls, cmd), ...(data.length ? [data] : [])], writable: [1] });
  const used = d.kick(QUEUE.CTRL);
  expect(used).toEqual([{ id: c.head, len: 1 }]);
  return d.read(c.writable[0]!.addr, 1)[0]!;
}

function macTable(uni: string[], multi: string[]): Uint8Array {
  const part = (list: string[]) => {
    const b = new Uint8Array(4 + 6 * list.length);
    new DataView(b.buffer).setUint32(0, list.length, true);
    list.forEach((m, i) => b.set(parseMac(m), 4 + 6 * i));
    return b;
  };
  return concat(part(uni), part(multi));
}

describe("NetDevice: identity", () => {
  it("offers its features and a config space the driver can read byte by byte", () => {
    const { dev, d } = setup("none");
    const offered = d.offeredFeatures();
    for (const f of [NET_F.MAC, NET_F.STATUS, NET_F.MTU, NET_F.MRG_RXBUF, NET_F.CTRL_VQ, NET_F.CTRL_RX, NET_F.CTRL_MAC_ADDR, NET_F.CSUM, RING_F.INDIRECT_DESC, RING_F.EVENT_IDX]) {
      expect(offered & bit(f)).toBe(bit(f));
    }
    for (const f of [NET_F.GUEST_CSUM, NET_F.MQ, NET_F.CTRL_VLAN, NET_F.GUEST_ANNOUNCE, NET_F.HOST_TSO4, NET_F.GUEST_TSO4, NET_F.CTRL_GUEST_OFFLOADS]) {
      expect(offered & bit(f)).toBe(0n);
    }
    expect(d.read32("DeviceID")).toBe(1);
    expect(dev.queueMaxSizes).toEqual([256, 256, 64]);
    const mac = Array.from({ length: 6 }, (_, i) => d.transport.read(REG.Config + NET_CFG.MAC + i, 1));
    expect(formatMac(Uint8Array.from(mac))).toBe(OUR_MAC);
    expect(d.transport.read(REG.Config + NET_CFG.STATUS, 2)).toBe(NET_S.LINK_UP);
    expect(d.transport.read(REG.Config + NET_CFG.MAX_VIRTQUEUE_PAIRS, 2)).toBe(1);
    expect(d.transport.read(REG.Config + NET_CFG.MTU, 2)).toBe(1500);
    d.transport.write(REG.Config + NET_CFG.MAC, 1, 0x99);
    expect(d.transport.read(REG.Config + NET_CFG.MAC, 1)).toBe(0x52);
    expect(dev.counters.configWritesIgnored).toBe(1);
  });

  it("options: no control queue, no CSUM, no MRG_RXBUF, another MAC and MTU", () => {
    const dev = new NetDevice({ backend: new CaptureBackend(), controlQueue: false, checksumOffload: false, mergeableRxBuffers: false, mac: "02:00:00:00:00:07", mtu: 9000 });
    expect(dev.queueMaxSizes).toEqual([256, 256]);
    expect(dev.features & (bit(NET_F.CTRL_VQ) | bit(NET_F.CTRL_RX) | bit(NET_F.CTRL_MAC_ADDR) | bit(NET_F.CSUM) | bit(NET_F.MRG_RXBUF))).toBe(0n);
    expect(dev.readConfig(NET_CFG.MTU, 2)).toBe(9000);
    expect(dev.readConfig(NET_CFG.MAC + 5, 1)).toBe(7);
    expect(() => new NetDevice({ backend: new CaptureBackend(), mac: "01:00:5e:00:00:01" })).toThrow(RangeError);
    expect(() => new NetDevice({ backend: new CaptureBackend(), mtu: 60 })).toThrow(RangeError);
  });

  it("options: a smaller rx queue alone (few receive buffers), sizes checked", () => {
    expect(new NetDevice({ backend: new CaptureBackend(), rxQueueSize: 16 }).queueMaxSizes).toEqual([16, 256, 64]);
    expect(new NetDevice({ backend: new CaptureBackend(), queueSize: 32 }).queueMaxSizes).toEqual([32, 32, 32]);
    expect(() => new NetDevice({ backend: new CaptureBackend(), rxQueueSize: 24 })).toThrow(RangeError);
    expect(() => new NetDevice({ backend: new CaptureBackend(), queueSize: 65536 })).toThrow(RangeError);
  });

  it("tells the backend its MAC at construction", () => {
    const backend = new CaptureBackend();
    new NetDevice({ backend, mac: "02:11:22:33:44:55" });
    expect(backend.macs.map(formatMac)).toEqual(["02:11:22:33:44:55"]);
  });
});

for (const mode of MODES) {
  describe(`NetDevice: transmit (msi ${mode})`, () => {
    it("a frame reaches the backend without its header; the chain comes back with length 0", () => {
      const { dev, d, backend } = setup(mode);
      const frame = ethFrame(PEER, OUR_MAC, 100);
      const { chain, used } = transmit(d, frame);
      expect(used).toEqual([{ id: chain.head, len: 0 }]);
      expect(backend.sent).toEqual([frame]);
      expectUsedIrq(d, mode, QUEUE.TX0);
      // Header and frame in separate descriptors, and through an indirect table.
      transmit(d, frame, { split: true });
      transmit(d, frame, { split: true, indirect: true });
      expect(backend.sent).toHaveLength(3);
      expect(backend.sent[2]).toEqual(frame);
      expect(dev.counters).toMatchObject({ txPackets: 3, txBytes: 300, txDrops: 0 });
    });

    it("completes a partial checksum (NEEDS_CSUM) before the frame leaves", () => {
      const { dev, d, backend } = setup(mode);
      const { frame, csumStart, csumOffset } = udpFrame(PEER, OUR_MAC, new TextEncoder().encode("hello, checksum!!"));
      expect(udpChecksumOk(frame)).toBe(false);
      transmit(d, frame, { header: txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart, csumOffset }) });
      expect(backend.sent).toHaveLength(1);
      expect(udpChecksumOk(backend.sent[0]!)).toBe(true);
      expect(dev.counters.txChecksums).toBe(1);
    });

    it("drops bad frames (counted by reason) and still returns every chain", () => {
      const { dev, d, backend } = setup(mode);
      const ok = ethFrame(PEER, OUR_MAC, 1514);
      const vlan = ethFrame(PEER, OUR_MAC, 1518, 0x8100);
      const cases: { frame: Uint8Array; header?: Uint8Array }[] = [
        { frame: new Uint8Array(0), header: new Uint8Array(8) }, // short header
        { frame: ethFrame(PEER, OUR_MAC, 13) }, // runt
        { frame: ethFrame(PEER, OUR_MAC, 1515) }, // over MTU
        { frame: ethFrame(PEER, OUR_MAC, 1519, 0x8100) }, // over MTU even tagged
        { frame: ok, header: txHeader({ gsoType: NET_HDR_GSO.TCPV4 }) }, // no TSO offered
        { frame: ok, header: txHeader({ flags: NET_HDR_F.DATA_VALID }) },
        { frame: ok, header: txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart: 1500, csumOffset: 20 }) },
        { frame: ok },
        { frame: vlan },
      ];
      for (const c of cases) {
        const { chain, used } = transmit(d, c.frame, c.header ? { header: c.header } : {});
        expect(used).toEqual([{ id: chain.head, len: 0 }]);
      }
      expect(backend.sent).toEqual([ok, vlan]);
      expect(dev.counters).toMatchObject({
        txPackets: 2, txDrops: 7, txDropBadHeader: 4, txDropTooSmall: 1, txDropTooBig: 2,
        txHeaderShort: 1, txHeaderGso: 1, txHeaderFlags: 1, txHeaderCsumRange: 1,
      });
    });

    it("NEEDS_CSUM without VIRTIO_NET_F_CSUM negotiated is a bad header", () => {
      const { dev, d, backend } = setup(mode, {}, { features: (f) => f & ~bit(NET_F.CSUM) & (mode === "none" ? ~FEATURE.MMIO_MSI : ~0n) });
      const { frame, csumStart, csumOffset } = udpFrame(PEER, OUR_MAC, new Uint8Array(10));
      transmit(d, frame, { header: txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart, csumOffset }) });
      expect(backend.sent).toHaveLength(0);
      expect(dev.counters.txHeaderCsumNotNegotiated).toBe(1);
    });

    it("a backend that throws loses the frame, counted; the chain still completes", () => {
      const { dev, d, backend } = setup(mode);
      backend.failSend = true;
      const { chain, used } = transmit(d, ethFrame(PEER, OUR_MAC));
      expect(used).toEqual([{ id: chain.head, len: 0 }]);
      expect(dev.counters).toMatchObject({ txBackendErrors: 1, txPackets: 0 });
    });
  });

  describe(`NetDevice: receive (msi ${mode})`, () => {
    it("without MRG_RXBUF: one buffer holds header (num_buffers 1) and frame", () => {
      const { dev, d, backend } = setup(mode, {}, noMrg(mode));
      const [b] = postRx(d, 4, BIG_BUF);
      const frame = ethFrame(OUR_MAC, PEER, 1514);
      backend.inject(frame);
      expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: b!.head, len: NET_HDR_SIZE + 1514 }]);
      const got = d.read(b!.writable[0]!.addr, NET_HDR_SIZE + 1514);
      expect(Array.from(got.subarray(0, NET_HDR_SIZE))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
      expect(got.subarray(NET_HDR_SIZE)).toEqual(frame);
      expectUsedIrq(d, mode, QUEUE.RX0);
      expect(dev.counters).toMatchObject({ rxPackets: 1, rxBytes: 1514, rxDrops: 0 });
    });

    it("with MRG_RXBUF: a frame spreads over several buffers and num_buffers says how many", () => {
      const { dev, d, backend } = setup(mode);
      const bufs = postRx(d, 8, 256);
      const frame = ethFrame(OUR_MAC, PEER, 1000);
      backend.inject(frame);
      const used = d.takeUsed(QUEUE.RX0);
      expect(used).toEqual([
        { id: bufs[0]!.head, len: 256 },
        { id: bufs[1]!.head, len: 256 },
        { id: bufs[2]!.head, len: 256 },
        { id: bufs[3]!.head, len: 1012 - 768 },
      ]);
      const bytes = concat(...used.map((u, i) => d.read(bufs[i]!.writable[0]!.addr, u.len)));
      expect(bytes[NET_HDR.NUM_BUFFERS]).toBe(4);
      expect(bytes.subarray(NET_HDR_SIZE)).toEqual(frame);
      expect(dev.counters).toMatchObject({ rxPackets: 1, rxMergedBuffers: 3 });
      // A small frame after it takes exactly one buffer.
      backend.inject(ethFrame(OUR_MAC, PEER, 60));
      const next = d.takeUsed(QUEUE.RX0);
      expect(next).toEqual([{ id: bufs[4]!.head, len: 72 }]);
      expect(d.read(bufs[4]!.writable[0]!.addr + NET_HDR.NUM_BUFFERS, 1)[0]).toBe(1);
      expectUsedIrq(d, mode, QUEUE.RX0);
    });

    it("with MRG_RXBUF, a frame that finds too few buffers waits for more, keeping what it took", () => {
      const { dev, d, backend } = setup(mode);
      const first = postRx(d, 2, 256);
      const frame = ethFrame(OUR_MAC, PEER, 1000);
      backend.inject(frame);
      expect(d.takeUsed(QUEUE.RX0)).toEqual([]);
      expect(dev.counters.backlogFrames).toBe(1);
      expect(dev.state().heldRxBuffers).toBe(2);
      const more = postRx(d, 2, 256);
      const used = d.takeUsed(QUEUE.RX0);
      expect(used.map((u) => u.id)).toEqual([...first, ...more].map((c) => c.head));
      const bytes = concat(...used.map((u, i) => d.read([...first, ...more][i]!.writable[0]!.addr, u.len)));
      expect(bytes.subarray(NET_HDR_SIZE)).toEqual(frame);
      expect(dev.counters).toMatchObject({ rxPackets: 1, backlogFrames: 0, backlogBytes: 0, rxBacklogged: 1 });
    });

    it("no buffers posted and no backlog: the frame is dropped and counted", () => {
      const { dev, backend } = setup(mode, { backlogFrames: 0 });
      backend.inject(ethFrame(OUR_MAC, PEER));
      expect(dev.counters).toMatchObject({ rxDrops: 1, rxDropNoBuffers: 1, rxPackets: 0 });
    });

    it("frames that wait in the backlog arrive in order once buffers are posted", () => {
      const { dev, d, backend } = setup(mode);
      const frames = [1, 2, 3].map((i) => ethFrame(OUR_MAC, PEER, 60 + i, 0x0800, i));
      for (const f of frames) backend.inject(f);
      expect(dev.counters).toMatchObject({ backlogFrames: 3, rxBacklogged: 3, rxPackets: 0 });
      takeIrqs(d, mode);
      const bufs = postRx(d, 4, BIG_BUF);
      const used = d.takeUsed(QUEUE.RX0);
      expect(used.map((u) => u.id)).toEqual(bufs.slice(0, 3).map((b) => b.head));
      used.forEach((u, i) => expect(d.read(bufs[i]!.writable[0]!.addr + NET_HDR_SIZE, u.len - NET_HDR_SIZE)).toEqual(frames[i]));
      expectUsedIrq(d, mode, QUEUE.RX0);
      expect(dev.counters).toMatchObject({ backlogFrames: 0, rxPackets: 3 });
    });

    it("oversize and runt frames from the network are dropped", () => {
      const { dev, d, backend } = setup(mode);
      postRx(d, 2, BIG_BUF);
      backend.inject(ethFrame(OUR_MAC, PEER, 1515));
      backend.inject(new Uint8Array(10));
      backend.inject(ethFrame(OUR_MAC, PEER, 1518, 0x8100)); // tagged: fits
      expect(d.takeUsed(QUEUE.RX0)).toHaveLength(1);
      expect(dev.counters).toMatchObject({ rxDropTooBig: 1, rxDropTooSmall: 1, rxPackets: 1 });
    });

    it("without MRG_RXBUF, buffers too small: the frame is dropped, the buffer kept for a smaller one", () => {
      const { dev, d, backend } = setup(mode, {}, noMrg(mode));
      const zero = d.addChain(QUEUE.RX0, { writable: [0] });
      const tiny = d.addChain(QUEUE.RX0, { writable: [8] });
      const small = d.addChain(QUEUE.RX0, { writable: [NET_HDR_SIZE + 100] });
      d.notify(QUEUE.RX0);
      d.runTasks();
      backend.inject(ethFrame(OUR_MAC, PEER, 500));
      // The empty buffer and the 8-byte one can never hold a frame: returned with length 0.
      expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: zero.head, len: 0 }, { id: tiny.head, len: 0 }]);
      expect(dev.counters).toMatchObject({ rxDropTooBig: 1, rxBuffersUnusable: 2 });
      backend.inject(ethFrame(OUR_MAC, PEER, 100));
      expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: small.head, len: NET_HDR_SIZE + 100 }]);
    });

    it("a flood of 10,000 frames with no buffers posted: counted drops, a bounded backlog", () => {
      const { dev, d, backend } = setup(mode);
      for (let i = 0; i < 10_000; i++) {
        backend.inject(ethFrame(OUR_MAC, PEER, 60 + (i % 1400), 0x0800, i));
        expect(dev.counters.backlogFrames).toBeLessThanOrEqual(64);
        expect(dev.counters.backlogBytes).toBeLessThanOrEqual(256 * 1024);
      }
      const c = dev.counters;
      expect(c.rxBacklogged + c.rxDropBacklogFull).toBe(10_000);
      expect(c.rxDrops).toBe(c.rxDropBacklogFull);
      expect(c.backlogPeakFrames).toBeLessThanOrEqual(64);
      expect(c.backlogPeakBytes).toBeLessThanOrEqual(256 * 1024);
      const waiting = c.backlogFrames;
      expect(waiting).toBeGreaterThan(0);
      postRx(d, 256, BIG_BUF);
      expect(d.takeUsed(QUEUE.RX0)).toHaveLength(waiting);
      expect(dev.counters).toMatchObject({ rxPackets: waiting, backlogFrames: 0, backlogBytes: 0 });
    });
  });

  describe(`NetDevice: control queue (msi ${mode})`, () => {
    it("PROMISC, ALLMULTI and MAC TABLE_SET drive the receive filter", () => {
      const { dev, d, backend } = setup(mode);
      postRx(d, 32, BIG_BUF);
      const deliver = (dst: string) => {
        const before = dev.counters.rxPackets;
        backend.inject(ethFrame(dst, PEER));
        return dev.counters.rxPackets > before;
      };
      // Promiscuous after reset.
      expect(deliver("52:54:00:99:99:99")).toBe(true);
      expect(control(d, CTRL_CLASS.RX, CTRL_RX.PROMISC, Uint8Array.of(0))).toBe(CTRL_ACK.OK);
      expect(deliver("52:54:00:99:99:99")).toBe(false);
      expect(deliver(OUR_MAC)).toBe(true);
      expect(deliver(BROADCAST)).toBe(true);
      expect(deliver("33:33:00:00:00:01")).toBe(false);
      expect(control(d, CTRL_CLASS.MAC, CTRL_MAC.TABLE_SET, macTable(["02:00:00:00:00:09"], ["33:33:00:00:00:01"]))).toBe(CTRL_ACK.OK);
      expect(deliver("33:33:00:00:00:01")).toBe(true);
      expect(deliver("33:33:00:00:00:02")).toBe(false);
      expect(deliver("02:00:00:00:00:09")).toBe(true);
      expect(control(d, CTRL_CLASS.RX, CTRL_RX.ALLMULTI, Uint8Array.of(1))).toBe(CTRL_ACK.OK);
      expect(deliver("33:33:00:00:00:02")).toBe(true);
      expect(control(d, CTRL_CLASS.RX, CTRL_RX.PROMISC, Uint8Array.of(1))).toBe(CTRL_ACK.OK);
      expect(deliver("52:54:00:99:99:99")).toBe(true);
      expect(dev.counters).toMatchObject({ ctrlCommands: 4, ctrlOk: 4, ctrlErrors: 0, ctrlPromisc: 2, ctrlAllmulti: 1, ctrlMacTableSet: 1, rxDropFiltered: 3 });
      expectUsedIrq(d, mode, QUEUE.CTRL);
    });

    it("MAC ADDR_SET changes the address the NIC answers to, its config and the backend's view", () => {
      const { dev, d, backend } = setup(mode);
      postRx(d, 4, BIG_BUF);
      control(d, CTRL_CLASS.RX, CTRL_RX.PROMISC, Uint8Array.of(0));
      const mac = "02:aa:bb:cc:dd:ee";
      const gen = d.read32("ConfigGeneration");
      expect(control(d, CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, parseMac(mac))).toBe(CTRL_ACK.OK);
      expect(d.read32("ConfigGeneration")).not.toBe(gen); // config space changed, no interrupt for it
      expect(formatMac(dev.mac)).toBe(mac);
      expect(d.transport.read(REG.Config + NET_CFG.MAC + 1, 1)).toBe(0xaa);
      expect(formatMac(backend.macs.at(-1)!)).toBe(mac);
      backend.inject(ethFrame(OUR_MAC, PEER));
      backend.inject(ethFrame(mac, PEER));
      expect(dev.counters).toMatchObject({ rxPackets: 1, rxDropFiltered: 1, ctrlMacAddrSet: 1 });
      // A reset forgets it.
      d.reset();
      expect(formatMac(dev.mac)).toBe(OUR_MAC);
      expect(dev.readConfig(NET_CFG.MAC + 1, 1)).toBe(0x54);
      expect(formatMac(backend.macs.at(-1)!)).toBe(OUR_MAC);
    });

    it("unknown or malformed commands get ERR, counted; nothing changes", () => {
      const { dev, d } = setup(mode);
      expect(control(d, CTRL_CLASS.VLAN, 0, new Uint8Array(2))).toBe(CTRL_ACK.ERR);
      expect(control(d, 77, 1)).toBe(CTRL_ACK.ERR);
      expect(control(d, CTRL_CLASS.RX, CTRL_RX.NOBCAST, Uint8Array.of(1))).toBe(CTRL_ACK.ERR);
      expect(control(d, CTRL_CLASS.RX, CTRL_RX.PROMISC, Uint8Array.of(0, 0))).toBe(CTRL_ACK.ERR);
      expect(control(d, CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, parseMac("01:00:5e:00:00:01"))).toBe(CTRL_ACK.ERR);
      const bad = macTable([], []);
      bad[0] = 200; // 200 unicast entries promised, none there
      expect(control(d, CTRL_CLASS.MAC, CTRL_MAC.TABLE_SET, bad)).toBe(CTRL_ACK.ERR);
      // A command with no room for the ack: completed with length 0.
      const c = d.addChain(QUEUE.CTRL, { readable: [Uint8Array.of(CTRL_CLASS.RX, CTRL_RX.PROMISC, 0)] });
      expect(d.kick(QUEUE.CTRL)).toEqual([{ id: c.head, len: 0 }]);
      expect(dev.state().promisc).toBe(true);
      expect(dev.counters).toMatchObject({ ctrlCommands: 7, ctrlOk: 0, ctrlErrors: 7, ctrlUnsupported: 3, ctrlMalformed: 4 });
    });
  });

  describe(`NetDevice: link and reset (msi ${mode})`, () => {
    it("link down: config interrupt, LINK_UP clear, frames dropped both ways; up again", () => {
      const { dev, d, backend } = setup(mode);
      postRx(d, 4, BIG_BUF);
      takeIrqs(d, mode);
      const gen = d.read32("ConfigGeneration");
      dev.setLink(false);
      expect(takeIrqs(d, mode).config).toBe(true);
      expect(d.transport.read(REG.Config + NET_CFG.STATUS, 2) & NET_S.LINK_UP).toBe(0);
      expect(d.read32("ConfigGeneration")).not.toBe(gen);
      backend.inject(ethFrame(OUR_MAC, PEER));
      transmit(d, ethFrame(PEER, OUR_MAC));
      expect(backend.sent).toHaveLength(0);
      expect(dev.counters).toMatchObject({ rxDropLinkDown: 1, txDropLinkDown: 1, linkChanges: 1, configInterrupts: 1 });
      dev.setLink(false); // no change, no interrupt
      expect(takeIrqs(d, mode).config).toBe(false);
      dev.setLink(true);
      expect(takeIrqs(d, mode).config).toBe(true);
      expect(d.transport.read(REG.Config + NET_CFG.STATUS, 2)).toBe(NET_S.LINK_UP);
      backend.inject(ethFrame(OUR_MAC, PEER));
      expect(dev.counters.rxPackets).toBe(1);
    });

    it("a link change before DRIVER_OK moves ConfigGeneration without an interrupt", () => {
      const { dev, d } = setup(mode, {}, { driverOk: false });
      const gen = d.read32("ConfigGeneration");
      dev.setLink(false);
      expect(d.read32("ConfigGeneration")).not.toBe(gen);
      expect(d.transport.read(REG.Config + NET_CFG.STATUS, 2) & NET_S.LINK_UP).toBe(0);
      expect(d.lineEvents).toEqual([]);
      expect(d.msiWrites).toEqual([]);
    });

    it("reset drops held buffers and the backlog; frames before DRIVER_OK are dropped", () => {
      const { dev, d, backend } = setup(mode);
      postRx(d, 1, 256);
      backend.inject(ethFrame(OUR_MAC, PEER, 1000)); // holds the one buffer, waits in the backlog
      expect(dev.state().heldRxBuffers).toBe(1);
      d.reset();
      expect(dev.state()).toMatchObject({ heldRxBuffers: 0, active: false });
      expect(dev.counters).toMatchObject({ backlogFrames: 0, backlogBytes: 0, rxDropNotReady: 1 });
      backend.inject(ethFrame(OUR_MAC, PEER));
      expect(dev.counters.rxDropNotReady).toBe(2);
      expect(d.init({ msi: mode }).ok).toBe(true);
      const [b] = postRx(d, 1, BIG_BUF);
      backend.inject(ethFrame(OUR_MAC, PEER));
      expect(d.takeUsed(QUEUE.RX0)).toEqual([{ id: b!.head, len: NET_HDR_SIZE + 64 }]);
    });
  });
}

describe("NetDevice: loopback", () => {
  it("a backend that answers inside send() (as v86's fetch adapter does for ARP) is fine", () => {
    const backend = new CaptureBackend();
    const dev = new NetDevice({ backend });
    const d = new TestDriver({ device: dev });
    d.init();
    const echo = backend.send.bind(backend);
    backend.send = (frame) => {
      echo(frame);
      const reply = frame.slice();
      reply.set(frame.subarray(6, 12), 0);
      reply.set(frame.subarray(0, 6), 6);
      backend.inject(reply);
    };
    postRx(d, 2, BIG_BUF);
    transmit(d, ethFrame(PEER, OUR_MAC, 80));
    const used = d.takeUsed(QUEUE.RX0);
    expect(used).toHaveLength(1);
    expect(dev.counters).toMatchObject({ txPackets: 1, rxPackets: 1, internalErrors: 0 });
  });
});
