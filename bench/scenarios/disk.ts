// Disk: our virtio-blk (MSI, line) and v86's own IDE disk on the same image, in one run each.
//   - interrupt path of a fixed workload (2000 4 KiB O_DIRECT reads with dd): register accesses
//     and interrupts per completed request, and the interrupt latency probe (virtio only)
//   - sequential write and read, 64 MiB, bs=1M, O_DIRECT
//   - 4 KiB random reads, O_DIRECT, at queue depth 1 and 16 (bench/guest-tool/vbench.c)
//   - for each of those the guest instructions it cost, and its limit and efficiency against the
//     emulator's speed measured in the same boot (bench/lib/limit.ts)
// Every variant gets a fresh in-memory copy of the same random image: ours through
// MemoryBackend, v86's IDE through `hda: { buffer }`, so both read the same bytes from host RAM.

import { randomFillSync } from "node:crypto";
import { guestInstructions } from "../../src/compare/device-counts.ts";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { installIrqProbe, type IrqLatency } from "../lib/irq-probe.ts";
import { SPEED_ROW, TIGHT_SPEED_ROW, VBENCH, consoleShell, emulatorSpeed, tightLoopSpeed, warmUpSpeedLoop, guestIrqCount, guestTimedNs, parseKv, sh, toolBinary, upload, type Shell } from "../lib/guest.ts";
import { PROFILE_CATEGORIES, startHostProfile } from "../lib/host-profile.ts";
import { addLimitRows, efficiency, limitPerSecond, type Workload } from "../lib/limit.ts";
import type { Section } from "../lib/table.ts";

/** "late": MSI with v86's own batches (no early end on QueueNotify, src/platform/v86/batch-end.ts). */
export type DiskVariant = "msi" | "line" | "ide" | "late";
export const DISK_VARIANTS: readonly DiskVariant[] = ["msi", "line", "ide", "late"];

export const DISK = {
  imageMiB: 96,
  seqMiB: 64,
  irqPathRequests: 2000,
  qd1Ops: 1000,
  qd16Ops: 4000,
  memoryMB: 160,
} as const;
const MiB = 1024 * 1024;

/** Random bytes: no filesystem signature (the guest's init leaves the disk alone), no zero pages. */
export function makeImage(): Uint8Array {
  const image = new Uint8Array(DISK.imageMiB * MiB);
  for (let at = 0; at < image.length; at += 65536) randomFillSync(image.subarray(at, at + 65536));
  return image;
}

export interface DiskSections {
  disk: Section;
  /** Where the host's time goes in each workload (MSI only): columns are the workloads. */
  diskProfile: Section;
  irqPath: Section;
  latency: Section;
}

async function boot(variant: DiskVariant, image: Uint8Array): Promise<{ guest: BootedGuest; device: BlockDevice | null; dev: string }> {
  if (variant === "ide") {
    const copy = image.slice();
    const guest = await bootGuest({ devices: [], memoryMB: DISK.memoryMB, ide: true, v86Options: { hda: { buffer: copy.buffer } } });
    return { guest, device: null, dev: "/dev/sda" };
  }
  const device = new BlockDevice({ backend: new MemoryBackend(image.slice()), name: "blk0", serial: "v86-msi-bench" });
  const guest = await bootGuest({
    devices: [device],
    msi: variant !== "line",
    ...(variant === "late" ? { endBatchOnWork: false } : {}),
    memoryMB: DISK.memoryMB,
    ...(variant === "line" ? { append: "virtio_mmio.msi=0" } : {}),
  });
  return { guest, device, dev: "/dev/vda" };
}

export async function runDisk(variant: DiskVariant, image: Uint8Array, run: number, out: DiskSections): Promise<string> {
  const { guest, device, dev } = await boot(variant, image);
  const shell: Shell = consoleShell(guest.console);
  try {
    await upload(shell, toolBinary(), VBENCH);
    if ((await sh(shell, `test -b ${dev} && echo yes || echo no`)).trim() !== "yes") {
      throw new Error(`${variant}: the guest has no ${dev}`);
    }
    out.disk.add("Boot to prompt (this disk attached)", "ms", 0, variant, run, guest.bootMs);

    await interruptPath(variant, guest, shell, device, dev, run, out);

    // Emulated instructions the guest ran for a workload: what host load cannot disturb.
    const instr = () => guestInstructions(guest.machine);
    // The emulator's speed before and after the workloads, averaged: the host's load drifts.
    const counter = async () => instr();
    await warmUpSpeedLoop(shell);
    const speedBefore = await emulatorSpeed(shell, counter);
    const tightSpeed = await tightLoopSpeed(shell);
    const workloads: Workload[] = [];

    // Write first so the read covers written data.
    let readNs = 0;
    for (const [name, command] of [
      ["write", `dd if=/dev/zero of=${dev} bs=1M count=${DISK.seqMiB} oflag=direct`],
      ["read", `dd if=${dev} of=/dev/null bs=1M count=${DISK.seqMiB} iflag=direct`],
    ] as const) {
      const i0 = instr();
      // Every variant runs with the profiler on (its cost the same for all); the MSI run's is shown.
      const profile = await startHostProfile();
      const ns = await guestTimedNs(shell, command);
      const shares = await profile.stop();
      if (variant === "msi") recordProfile(out.diskProfile, `seq-${name}`, run, shares);
      const perMiB = ((instr() - i0) >>> 0) / DISK.seqMiB;
      const mbps = (DISK.seqMiB * MiB) / 1e6 / (ns / 1e9);
      if (name === "read") readNs = ns;
      out.disk.add(`Sequential ${name}, ${DISK.seqMiB} MiB, bs=1M, O_DIRECT`, "MB/s", 1, variant, run, mbps);
      out.disk.add(`Guest instructions per MiB, sequential ${name}`, "k instr", 0, variant, run, perMiB / 1e3);
      workloads.push({ name: `sequential ${name}`, unit: "MB/s", digits: 1, achieved: mbps, instructionsPerUnit: (perMiB * 1e6) / MiB });
    }

    for (const [depth, ops] of [[1, DISK.qd1Ops], [16, DISK.qd16Ops]] as const) {
      const before = instr();
      const profile = await startHostProfile();
      const kv = parseKv(await sh(shell, `${VBENCH} rand ${dev} ${ops} ${depth}`));
      const shares = await profile.stop();
      if (variant === "msi") recordProfile(out.diskProfile, `qd${depth}`, run, shares);
      if (!kv.ops || !kv.ns) throw new Error(`${variant}: vbench rand gave no result`);
      const iops = kv.ops / (kv.ns / 1e9);
      const perRead = ((instr() - before) >>> 0) / kv.ops;
      out.disk.add(`Random read 4 KiB, QD${depth}, O_DIRECT`, "IOPS", 0, variant, run, iops);
      out.disk.add(`Guest instructions per random read, QD${depth}`, "k instr", 1, variant, run, perRead / 1e3);
      workloads.push({ name: `random read QD${depth}`, unit: "IOPS", digits: 0, achieved: iops, instructionsPerUnit: perRead });
    }

    const speed = (speedBefore + (await emulatorSpeed(shell, counter))) / 2;
    out.disk.add(SPEED_ROW, "M instr/s", 0, variant, run, speed / 1e6);
    out.disk.add(TIGHT_SPEED_ROW, "M instr/s", 0, variant, run, tightSpeed / 1e6);
    for (const w of workloads) addLimitRows(out.disk, speed, w, variant, run);

    const errors = (await sh(shell, "dmesg | grep -ciE 'I/O error|virtio.*(error|fail)|ata.*(error|fail)' || true")).trim();
    if (errors !== "0" || (device && device.counters.errors !== 0)) {
      throw new Error(`disk errors in the ${variant} run: dmesg ${errors}, device ${device?.counters.errors}`);
    }
    const effs = workloads.map((w) => `${w.name} ${efficiency(w.achieved, limitPerSecond(speed, w.instructionsPerUnit)).toFixed(2)}`);
    return `boot ${guest.bootMs.toFixed(0)} ms, read ${((DISK.seqMiB * MiB * 1e3) / readNs).toFixed(1)} MB/s, speed ${(speed / 1e6).toFixed(0)} M instr/s; efficiency ${effs.join(", ")}`;
  } finally {
    await guest.shutdown();
  }
}

async function interruptPath(
  variant: DiskVariant,
  guest: BootedGuest,
  shell: Shell,
  device: BlockDevice | null,
  dev: string,
  run: number,
  out: DiskSections,
): Promise<void> {
  const irqName = variant === "ide" ? /ata|ide/i : /virtio/;
  await sh(shell, "sync; echo 3 > /proc/sys/vm/drop_caches");
  const irq0 = await guestIrqCount(shell, irqName);
  const workload = `dd if=${dev} of=/dev/null bs=4k count=${DISK.irqPathRequests} iflag=direct 2>/dev/null`;
  if (device === null) {
    await sh(shell, workload);
    const irqs = (await guestIrqCount(shell, irqName)) - irq0;
    out.irqPath.add("Guest interrupts / request (/proc/interrupts)", "", 3, variant, run, irqs / DISK.irqPathRequests);
    return;
  }
  const attached = guest.machine.devices[0]!;
  const c = attached.transport.counters;
  const sum = (o: object) => Object.values(o as Record<string, number>).reduce((a, b) => a + b, 0);
  const before = {
    status: c.reads.InterruptStatus,
    ack: c.writes.InterruptACK,
    notify: c.writes.QueueNotify,
    all: sum(c.reads) + sum(c.writes),
    line: attached.line.counters.raised,
    msi: guest.machine.msiRouter.counters.delivered,
    completed: device.counters.completed,
  };
  const probe = installIrqProbe(guest.machine, attached);
  try {
    await sh(shell, workload);
  } finally {
    probe.remove();
  }
  const n = device.counters.completed - before.completed;
  const irqs = (await guestIrqCount(shell, irqName)) - irq0;
  const per = (name: string, value: number) => out.irqPath.add(name, "", 3, variant, run, value / n);
  per("InterruptStatus reads / request", c.reads.InterruptStatus - before.status);
  per("InterruptACK writes / request", c.writes.InterruptACK - before.ack);
  per("QueueNotify writes / request", c.writes.QueueNotify - before.notify);
  per("All register accesses / request", sum(c.reads) + sum(c.writes) - before.all);
  per("MSIs delivered / request", guest.machine.msiRouter.counters.delivered - before.msi);
  per("Line assertions / request", attached.line.counters.raised - before.line);
  per("Guest interrupts / request (/proc/interrupts)", irqs);
  recordLatency(probe.result(), variant, run, out.latency);
}

function recordProfile(s: Section, column: string, run: number, shares: Record<(typeof PROFILE_CATEGORIES)[number], number>): void {
  for (const c of PROFILE_CATEGORIES) s.add(c, "%", 1, column, run, 100 * shares[c]);
}

function recordLatency(l: IrqLatency, variant: DiskVariant, run: number, s: Section): void {
  s.add("Device signal → CPU takes the interrupt (instructions)", "instr", 0, variant, run, l.signalToAcceptInstr);
  s.add("Device signal → CPU takes the interrupt (host time)", "µs", 1, variant, run, l.signalToAcceptUs);
  s.add("Interrupts taken inside the delivery call", "%", 0, variant, run, l.acceptedAtOnce * 100);
  s.add("Device signal → handler's InterruptStatus read (instructions)", "instr", 0, variant, run, l.signalToStatusInstr);
  s.add("Device signal → next QueueNotify (instructions)", "instr", 0, variant, run, l.signalToNextNotifyInstr);
  s.add("Device signal → next QueueNotify (host time)", "µs", 0, variant, run, l.signalToNextNotifyUs);
  s.add("Device signal → next QueueNotify, p90 (host time)", "µs", 0, variant, run, l.signalToNextNotifyP90Us);
  s.add("QueueNotify → device signal (host time)", "µs", 0, variant, run, l.notifyToSignalUs);
  s.add("QueueNotify → device signal (instructions)", "instr", 0, variant, run, l.notifyToSignalInstr);
}
