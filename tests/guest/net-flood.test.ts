// A flood into a guest that posts few receive buffers (an rx queue of 16): the device drops what it
// cannot place and counts it, its backlog stays within its bound, the process does not keep the
// flooded frames, and the link works afterwards (the guest pings the peer that flooded it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetDevice } from "../../src/devices/net/device.ts";
import { parseMac } from "../../src/devices/net/mac.ts";
import { SwitchPort, VirtualSwitch } from "../../src/devices/net/switch.ts";
import { inetChecksum } from "../../src/testing/net-frames.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { sh } from "./shell.ts";
import { n, recordFigure } from "../reliability/record.ts";

const GUEST = { mac: "02:00:00:00:89:02", ip: [192, 168, 89, 2] };
const PEER = { mac: "02:00:00:00:89:01", ip: [192, 168, 89, 1] };
const FLOOD_FRAMES = 100_000;
const PAYLOAD = 1400;

function ipv4Header(frame: Uint8Array, protocol: number, ipLen: number, src: number[], dst: number[]): void {
  const ip = new DataView(frame.buffer, frame.byteOffset + 14);
  ip.setUint8(0, 0x45);
  ip.setUint16(2, ipLen);
  ip.setUint8(8, 64);
  ip.setUint8(9, protocol);
  frame.set(src, 26);
  frame.set(dst, 30);
  ip.setUint16(10, inetChecksum(frame.subarray(14, 34), 0));
}

function ethHeader(frame: Uint8Array, dst: Uint8Array, type: number): void {
  frame.set(dst, 0);
  frame.set(parseMac(PEER.mac), 6);
  frame[12] = type >> 8;
  frame[13] = type & 0xff;
}

/** A UDP datagram to the guest's discard port (UDP checksum 0: none, allowed over IPv4). */
function floodFrame(seq: number): Uint8Array {
  const frame = new Uint8Array(14 + 28 + PAYLOAD);
  ethHeader(frame, parseMac(GUEST.mac), 0x0800);
  ipv4Header(frame, 17, 28 + PAYLOAD, PEER.ip, GUEST.ip);
  const udp = new DataView(frame.buffer, 34);
  udp.setUint16(0, 40000);
  udp.setUint16(2, 9);
  udp.setUint16(4, 8 + PAYLOAD);
  udp.setUint32(8, seq);
  return frame;
}

/** The peer's whole IP stack: ARP replies for its address and ICMP echo replies. */
function answer(port: SwitchPort, frame: Uint8Array): void {
  const type = (frame[12]! << 8) | frame[13]!;
  const ipEq = (at: number, ip: number[]) => ip.every((b, i) => frame[at + i] === b);
  if (type === 0x0806 && frame[21] === 1 && ipEq(38, PEER.ip)) {
    const reply = new Uint8Array(42);
    ethHeader(reply, frame.subarray(6, 12), 0x0806);
    reply.set([0, 1, 8, 0, 6, 4, 0, 2], 14);
    reply.set(parseMac(PEER.mac), 22);
    reply.set(PEER.ip, 28);
    reply.set(frame.subarray(22, 32), 32); // the asker's MAC and IP
    port.send(reply);
  } else if (type === 0x0800 && frame[23] === 1 && ipEq(30, PEER.ip) && frame[34] === 8) {
    const ipLen = (frame[16]! << 8) | frame[17]!;
    const reply = new Uint8Array(14 + ipLen);
    ethHeader(reply, frame.subarray(6, 12), 0x0800);
    reply.set(frame.subarray(34, 14 + ipLen), 34);
    ipv4Header(reply, 1, ipLen, PEER.ip, Array.from(frame.subarray(26, 30)));
    reply[34] = 0; // echo reply
    reply[36] = 0;
    reply[37] = 0;
    const sum = inetChecksum(reply.subarray(34), 0);
    reply[36] = sum >> 8;
    reply[37] = sum & 0xff;
    port.send(reply);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("a flood into a guest that posts few buffers", () => {
  let floodFigure = "";
  const sw = new VirtualSwitch();
  const peer = sw.createPort("peer");
  const dev = new NetDevice({ backend: sw.createPort("guest"), name: "net0", mac: GUEST.mac, rxQueueSize: 16 });
  let guest: BootedGuest;

  beforeAll(async () => {
    // A real peer answers a moment later, not from inside the guest's transmit.
    peer.onReceive((frame) => {
      const copy = frame.slice();
      setTimeout(() => answer(peer, copy), 0);
    });
    guest = await bootGuest({ devices: [dev], append: `guest.ip=${GUEST.ip.join(".")}/24` });
  }, 120_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it("the link works before the flood", async () => {
    expect(await sh(guest, `ping -c 2 -W 5 ${PEER.ip.join(".")}`)).toMatch(/2 packets received/);
  });

  it(`${FLOOD_FRAMES} frames: drops counted, backlog bounded, nothing kept`, async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, "the guest test project runs with --expose-gc").toBeTypeOf("function");
    gc!();
    const memBefore = process.memoryUsage();
    const rxBefore = Number(await sh(guest, "cat /sys/class/net/eth0/statistics/rx_packets"));
    const c = dev.counters;
    const dropsBefore = c.rxDrops;
    const packetsBefore = c.rxPackets;
    // Bursts of 500 as fast as the switch takes them, with a millisecond for the emulator between:
    // far more than a guest with 16 buffers can take (about 700 MB/s offered).
    const started = performance.now();
    for (let sent = 0; sent < FLOOD_FRAMES; ) {
      for (let i = 0; i < 500; i++) peer.send(floodFrame(sent++));
      await tick();
    }
    const seconds = (performance.now() - started) / 1000;
    await sh(guest, "sleep 1");
    gc!();
    const memAfter = process.memoryUsage();
    const delivered = c.rxPackets - packetsBefore;
    const dropped = c.rxDrops - dropsBefore;
    const guestRx = Number(await sh(guest, "cat /sys/class/net/eth0/statistics/rx_packets")) - rxBefore;
    const grewMiB = (memAfter.heapUsed + memAfter.arrayBuffers - memBefore.heapUsed - memBefore.arrayBuffers) / 2 ** 20;
    console.log(
      `net-flood: ${FLOOD_FRAMES} frames (${((FLOOD_FRAMES * (PAYLOAD + 42)) / 2 ** 20).toFixed(0)} MiB) in ${seconds.toFixed(1)} s; ` +
        `device delivered ${delivered}, dropped ${dropped} (backlog full ${c.rxDropBacklogFull}), guest counted ${guestRx}; ` +
        `backlog peak ${c.backlogPeakFrames} frames / ${c.backlogPeakBytes} bytes; heap+buffers ${grewMiB >= 0 ? "+" : ""}${grewMiB.toFixed(1)} MiB`,
    );
    // Every frame is accounted for: delivered to the guest or dropped and counted.
    expect(delivered + dropped).toBe(FLOOD_FRAMES);
    expect(dropped).toBeGreaterThan(FLOOD_FRAMES / 2);
    expect(delivered).toBeGreaterThan(0);
    expect(guestRx).toBeGreaterThanOrEqual(delivered - 64);
    // The backlog never went past its bounds (64 frames, 256 KiB), and the flood was not kept.
    expect(c.backlogPeakFrames).toBeLessThanOrEqual(64);
    expect(c.backlogPeakBytes).toBeLessThanOrEqual(256 * 1024);
    expect(grewMiB).toBeLessThan(16);
    expect(c.internalErrors).toBe(0);
    floodFigure =
      `${n(FLOOD_FRAMES)} frames (${((FLOOD_FRAMES * (PAYLOAD + 42)) / 2 ** 20).toFixed(0)} MiB) in ${seconds.toFixed(1)} s: ` +
      `${n(delivered)} delivered, ${n(dropped)} dropped and counted (delivered + dropped = sent); backlog peak ${c.backlogPeakFrames} frames / ` +
      `${(c.backlogPeakBytes / 1024).toFixed(0)} KiB (its bounds: 64 / 256 KiB); heap and buffers ${grewMiB >= 0 ? "+" : ""}${grewMiB.toFixed(1)} MiB`;
  }, 240_000);

  it("the link works after the flood", async () => {
    expect(await sh(guest, `ping -c 3 -W 5 ${PEER.ip.join(".")}`)).toMatch(/3 packets received/);
    expect(await sh(guest, "cat /sys/class/net/eth0/carrier")).toBe("1\n");
    recordFigure("net-flood", `${floodFigure}; ping works after`);
  });
});
