// Network: two guests in one process on one Ethernet segment, a TCP stream and UDP round trips
// from guest A (192.168.87.1) to guest B (192.168.87.2). Variants, each the same topology:
//   msi / line   our virtio-net (virtio-mmio) in each guest, both ports of one VirtualSwitch
//   v86          v86's own virtio-net (PCI, net_device type "virtio"), the two emulators' buses
//                joined back to back (A's net0-send -> B's net0-receive and back): no switch
//                logic, the shortest path v86 offers, so any cost it saves counts against ours.
// Both emulators share the one Node thread, as two tabs of a page would share one core.
// Each workload's guest instructions, limit and efficiency as in the disk scenario.

import { guestInstructions, instructionsBetween } from "../../src/compare/device-counts.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import type { Machine } from "../../src/machine/machine.ts";
import { SPEED_ROW, TIGHT_SPEED_ROW, VBENCH, consoleShell, emulatorSpeed, tightLoopSpeed, warmUpSpeedLoop, guestIrqCount, parseKv, sh, toolBinary, upload, type Shell } from "../lib/guest.ts";
import { addLimitRows, efficiency, limitPerSecond, type Workload } from "../lib/limit.ts";
import { PROFILE_CATEGORIES, startHostProfile } from "../lib/host-profile.ts";
import type { Section } from "../lib/table.ts";

export type NetVariant = "msi" | "line" | "v86";
export const NET_VARIANTS: readonly NetVariant[] = ["msi", "line", "v86"];

export const NET = {
  tcpBytes: 8 * 1024 * 1024,
  udpRoundTrips: 300,
  memoryMB: 128,
  subnet: "192.168.87",
} as const;

const adapterBus = (m: Machine) => m.emulator.bus;
const MiB = 1024 * 1024;

interface Pair {
  a: BootedGuest;
  b: BootedGuest;
  frames: () => number;
}

async function bootPair(variant: NetVariant): Promise<Pair> {
  const ip = (n: number) => `guest.ip=${NET.subnet}.${n}/24`;
  if (variant === "v86") {
    let frames = 0;
    const machines: Machine[] = [];
    // Joined as soon as both exist; frames before that (none: the links come up later) are lost.
    const join = (m: Machine) => {
      machines.push(m);
      if (machines.length < 2) return;
      const [x, y] = machines as [Machine, Machine];
      adapterBus(x).register("net0-send", (f) => (frames++, adapterBus(y).send("net0-receive", f)));
      adapterBus(y).register("net0-send", (f) => (frames++, adapterBus(x).send("net0-receive", f)));
    };
    const opts = (n: number) => ({
      devices: [],
      memoryMB: NET.memoryMB,
      append: ip(n),
      v86Options: { net_device: { type: "virtio" } },
      onMachine: join,
    });
    const [a, b] = await Promise.all([bootGuest(opts(1)), bootGuest(opts(2))]);
    return { a, b, frames: () => frames };
  }
  const sw = new VirtualSwitch();
  const nic = (n: number) => new NetDevice({ backend: sw.createPort(`guest${n}`), name: "net0", mac: `02:00:00:00:87:0${n}` });
  const opts = (n: number) => ({
    devices: [nic(n)],
    msi: variant === "msi",
    memoryMB: NET.memoryMB,
    append: [ip(n), variant === "line" ? "virtio_mmio.msi=0" : ""].join(" ").trim(),
  });
  const [a, b] = await Promise.all([bootGuest(opts(1)), bootGuest(opts(2))]);
  return { a, b, frames: () => sw.counters.frames };
}

/** Address and link, unless the guest's init already set them from guest.ip=. */
async function configure(shell: Shell, n: number): Promise<void> {
  const addr = `${NET.subnet}.${n}`;
  await sh(shell, `ip link set eth0 up; ip -4 addr show eth0 | grep -q '${addr}/' || ip addr add ${addr}/24 dev eth0`);
  await sh(shell, "for i in 1 2 3 4 5 6 7 8 9 10; do [ \"$(cat /sys/class/net/eth0/carrier)\" = 1 ] && break; sleep 1; done");
}

async function waitForFile(shell: Shell, path: string, timeoutMs: number): Promise<string> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const text = await sh(shell, `cat ${path} 2>/dev/null || true`);
    if (text.trim()) return text;
    if (performance.now() > until) throw new Error(`nothing in ${path} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runNet(variant: NetVariant, run: number, s: Section, tcpProfile: Section): Promise<string> {
  const { a, b, frames } = await bootPair(variant);
  try {
    const both = async () => guestInstructions(a.machine) + guestInstructions(b.machine);
    return await netWorkload(consoleShell(a.console), consoleShell(b.console), variant, run, s, async () => frames(), both, tcpProfile);
  } finally {
    await Promise.all([a.shutdown(), b.shutdown()]);
  }
}

/**
 * The measurements on two booted guests, A and B, whatever runs them (Node or the page).
 * `frames` counts Ethernet frames on the segment (for interrupts per frame); `instructions` sums
 * both guests' emulated instruction counters (32-bit, wrapping: a difference of two sums taken
 * modulo 2^32 is still right for spans under 2^32 instructions).
 */
export async function netWorkload(
  sa: Shell,
  sb: Shell,
  column: string,
  run: number,
  s: Section,
  frames: () => Promise<number>,
  instructions: () => Promise<number>,
  /** Under Node: where the host's time goes during the TCP stream (this process's profiler), in column `column`. */
  tcpProfile?: Section,
): Promise<string> {
  const peer = `${NET.subnet}.2`;
  await Promise.all([upload(sa, toolBinary(), VBENCH), upload(sb, toolBinary(), VBENCH)]);
  await Promise.all([configure(sa, 1), configure(sb, 2)]);
  // ARP and the first packets out of the way.
  await sh(sa, `ping -c 2 -W 10 ${peer} >/dev/null`);
  // The speed of the one thread both emulators share: A runs the loops while B idles (a halted
  // CPU runs no instructions), so it is what the pair can execute per second between them.
  await warmUpSpeedLoop(sa);
  const speedBefore = await emulatorSpeed(sa, instructions);
  const tightSpeed = await tightLoopSpeed(sa);

  // UDP round trips: B echoes, A times each one alone.
  await sh(sb, `(${VBENCH} udp-echo 7001 ${NET.udpRoundTrips} >/dev/null 2>&1 &)`);
  const i0 = await instructions();
  const udp = parseKv(await sh(sa, `${VBENCH} udp-ping ${peer} 7001 ${NET.udpRoundTrips}`));
  const perTrip = instructionsBetween(i0, await instructions()) / NET.udpRoundTrips;
  s.add("Guest instructions (both guests) per UDP round trip", "k instr", 1, column, run, perTrip / 1e3);
  s.add("UDP round trip, 64 B, median", "µs", 0, column, run, udp.median! / 1e3);
  s.add("UDP round trip, 64 B, p90", "µs", 0, column, run, udp.p90! / 1e3);

  // TCP stream A -> B, timed by the receiver from its first byte to EOF.
  const irqName = /virtio/;
  const [irqA0, irqB0, frames0] = [await guestIrqCount(sa, irqName), await guestIrqCount(sb, irqName), await frames()];
  await sh(sb, `rm -f /tmp/sink.out; (${VBENCH} tcp-sink 5001 >/tmp/sink.out 2>&1 &)`);
  await sh(sb, "sleep 1");
  const t0 = await instructions();
  const profile = tcpProfile ? await startHostProfile() : null;
  await sh(sa, `${VBENCH} tcp-send ${peer} 5001 ${NET.tcpBytes}`, 300_000);
  if (profile && tcpProfile) {
    const shares = await profile.stop();
    for (const c of PROFILE_CATEGORIES) tcpProfile.add(c, "%", 1, column, run, 100 * shares[c]);
  }
  const sink = parseKv(await waitForFile(sb, "/tmp/sink.out", 120_000));
  const perMiB = instructionsBetween(t0, await instructions()) / (NET.tcpBytes / MiB);
  if (sink.bytes !== NET.tcpBytes) throw new Error(`${column}: tcp-sink got ${sink.bytes} of ${NET.tcpBytes} bytes`);
  const tcp = sink.bytes / 1e6 / (sink.ns! / 1e9);
  s.add("TCP stream A → B, 8 MiB", "MB/s", 2, column, run, tcp);
  s.add("Guest instructions (both guests) per MiB, TCP stream", "k instr", 0, column, run, perMiB / 1e3);
  const irqs = (await guestIrqCount(sa, irqName)) - irqA0 + (await guestIrqCount(sb, irqName)) - irqB0;
  s.add("Guest NIC interrupts (both guests) / frame, TCP stream", "", 3, column, run, irqs / ((await frames()) - frames0));

  const speed = (speedBefore + (await emulatorSpeed(sa, instructions))) / 2;
  s.add(SPEED_ROW, "M instr/s", 0, column, run, speed / 1e6);
  s.add(TIGHT_SPEED_ROW, "M instr/s", 0, column, run, tightSpeed / 1e6);
  const tcpWorkload: Workload = { name: "TCP stream", unit: "MB/s", digits: 2, achieved: tcp, instructionsPerUnit: (perMiB * 1e6) / MiB };
  addLimitRows(s, speed, tcpWorkload, column, run);
  // Shown as a time, the shortest round trip: one trip's instructions at the emulator's speed.
  const tripsLimit = limitPerSecond(speed, perTrip);
  s.add("Limit, UDP round trip (guest instructions ÷ emulator speed)", "µs", 0, column, run, 1e6 / tripsLimit);
  s.add("Efficiency, UDP round trip (limit ÷ median)", "", 2, column, run, efficiency(1e9 / udp.median!, tripsLimit));
  const tcpEff = efficiency(tcp, limitPerSecond(speed, tcpWorkload.instructionsPerUnit));
  return `udp rtt ${(udp.median! / 1e3).toFixed(0)} µs, tcp ${tcp.toFixed(2)} MB/s, speed ${(speed / 1e6).toFixed(0)} M instr/s, tcp efficiency ${tcpEff.toFixed(2)}`;
}
