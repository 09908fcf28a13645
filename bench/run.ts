// Headless benchmarks: v86 under Node, the same device/transport/platform code as the page.
//   npm run bench [-- --runs N]
// Every figure is the median of N runs (min..max beside it). The two interrupt modes run
// alternately in one process (MSI, line, MSI, line, ...) so slow drifts of the host hit both,
// and MSI/line ratios are taken per pair before their median is taken.
//
// Scenarios (per run: boot an MSI guest and run 2-4 on it, then the same with the line, then a
// boot with no devices):
//   1. boot to the shell prompt: with our virtio-blk (MSI / line) and with no devices
//   2. interrupt path of a fixed workload (4 KiB O_DIRECT reads with dd): MMIO accesses by
//      register, interrupts and guest-counted interrupts (/proc/interrupts) per request
//   3. disk throughput: 64 MiB sequential write and read with dd (O_DIRECT, bs=1M) on a 96 MiB
//      temporary image, and 4 KiB random reads at queue depth 1 (bench/guest-tool/qd1.c)
//   4. interrupt latency on the host's clock, recorded by wrapping the transport during 2
//
// v86's own IDE disk is not measured: the guest kernel has no ATA/IDE driver (see the report).

import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { BlockDevice } from "../src/devices/blk/device.ts";
import { bootGuest, type BootedGuest } from "../src/node/boot.ts";
import { FileBackend } from "../src/node/file-backend.ts";
import { REG } from "../src/virtio/constants.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const DISK_MIB = 96;
const SEQ_MIB = 64;
const IRQ_PATH_REQUESTS = 2000;
const RAND_OPS = 1000;
const MEMORY_MB = 160;

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    out: { type: "string", default: join(HERE, "results") },
  },
});
const RUNS = Math.max(1, Number.parseInt(args.runs!, 10) || 3);

type Mode = "msi" | "line";
const log = (...a: unknown[]) => console.error("[bench]", ...a);

// ---------------------------------------------------------------------------------------------
// Helpers

function stats(xs: number[]): { median: number; min: number; max: number; n: number } {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function sh(guest: BootedGuest, command: string, timeoutMs = 120_000): Promise<string> {
  const r = await guest.console.exec(command, timeoutMs);
  if (r.status !== 0) throw new Error(`guest command failed (${r.status}): ${command}\n${r.output}`);
  return r.output;
}

function makeDisk(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "v86-msi-bench-"));
  const path = join(dir, "disk.img");
  const fd = openSync(path, "w");
  // Random bytes: no zero pages the host could serve from holes, and no ext2 signature, so
  // the guest's init leaves /dev/vda unmounted and dd owns the whole device.
  const chunk = Buffer.alloc(4 * MiB);
  for (let i = 0; i < DISK_MIB / 4; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The QD1 tool: built from source with the i386 cross compiler if there is one, else the committed binary. */
function qd1Binary(): { bytes: Buffer; origin: string } {
  const src = join(HERE, "guest-tool", "qd1.c");
  const committed = join(HERE, "guest-tool", "qd1");
  try {
    const dir = mkdtempSync(join(tmpdir(), "v86-msi-qd1-"));
    const out = join(dir, "qd1");
    execFileSync("i686-linux-gnu-gcc", [
      "-Os", "-static", "-nostdlib", "-fno-builtin", "-fno-pic", "-no-pie", "-fno-stack-protector",
      "-Wl,--build-id=none", "-s", "-o", out, src, "-lgcc",
    ], { stdio: "pipe" });
    const bytes = readFileSync(out);
    rmSync(dir, { recursive: true, force: true });
    return { bytes, origin: "built from bench/guest-tool/qd1.c with i686-linux-gnu-gcc" };
  } catch {
    if (existsSync(committed)) return { bytes: readFileSync(committed), origin: "bench/guest-tool/qd1 (committed build)" };
    throw new Error("no i686-linux-gnu-gcc and no bench/guest-tool/qd1");
  }
}

async function upload(guest: BootedGuest, bytes: Buffer, path: string): Promise<void> {
  const b64 = gzipSync(bytes, { level: 9 }).toString("base64");
  await sh(guest, `rm -f ${path}.b64`);
  // Lines stay well below busybox ash's line-editing limit (1 KiB).
  for (let i = 0; i < b64.length; i += 800) await sh(guest, `printf '%s' '${b64.slice(i, i + 800)}' >> ${path}.b64`);
  await sh(guest, `base64 -d ${path}.b64 | gunzip > ${path} && chmod +x ${path} && rm ${path}.b64`);
}

/** Sum of the guest's /proc/interrupts counts for lines naming virtio. */
async function guestVirtioIrqs(guest: BootedGuest): Promise<number> {
  const out = await sh(guest, "cat /proc/interrupts");
  let total = 0;
  for (const line of out.split("\n")) {
    if (!/virtio/.test(line)) continue;
    const m = /^\s*\S+:\s+(\d+)/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** Runs a shell command and returns its duration on the guest's CLOCK_MONOTONIC (ns). */
async function guestTimed(guest: BootedGuest, command: string): Promise<{ ns: number; hostMs: number }> {
  const t = performance.now();
  const out = await sh(guest, `t0=$(/tmp/qd1 now); ${command} 2>/dev/null; t1=$(/tmp/qd1 now); echo $((t1 - t0))`);
  const hostMs = performance.now() - t;
  const ns = Number(out.trim().split("\n").pop());
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`could not time: ${command}\n${out}`);
  return { ns, hostMs };
}

// ---------------------------------------------------------------------------------------------
// Counter snapshots

const TRACKED_READS = ["InterruptStatus"] as const;
const TRACKED_WRITES = ["InterruptACK", "QueueNotify"] as const;

function snapshot(guest: BootedGuest) {
  const dev = guest.machine.devices[0]!;
  const c = dev.transport.counters;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const blk = (dev.device as BlockDevice).counters;
  return {
    InterruptStatusReads: c.reads.InterruptStatus,
    InterruptACKWrites: c.writes.InterruptACK,
    QueueNotifyWrites: c.writes.QueueNotify,
    mmioReads: sum(c.reads as unknown as Record<string, number>),
    mmioWrites: sum(c.writes as unknown as Record<string, number>),
    lineRaised: dev.line.counters.raised,
    msiDelivered: guest.machine.msiRouter.counters.delivered,
    completed: blk.completed,
    requests: blk.requests,
    bytesRead: blk.bytesRead,
    bytesWritten: blk.bytesWritten,
    errors: blk.errors,
  };
}
type Snap = ReturnType<typeof snapshot>;
const diff = (a: Snap, b: Snap) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof Snap] - a[k as keyof Snap]])) as Snap;

// ---------------------------------------------------------------------------------------------
// Latency probe: wraps the transport's read/write, the line's raise and the MSI router's write
// (instance properties over the prototype methods; removed afterwards).

function installLatencyProbe(guest: BootedGuest) {
  const dev = guest.machine.devices[0]!;
  const t = dev.transport as unknown as Record<string, unknown>;
  const line = dev.line as unknown as Record<string, unknown>;
  const router = guest.machine.msiRouter as unknown as Record<string, unknown>;
  const origRead = dev.transport.read.bind(dev.transport);
  const origWrite = dev.transport.write.bind(dev.transport);
  const origRaise = dev.line.raise.bind(dev.line);
  const origMsi = guest.machine.msiRouter.write.bind(guest.machine.msiRouter);
  let signalledAt = -1;
  let notifiedAt = -1;
  let sawAccess = false;
  const notifyToSignal: number[] = [];
  const toFirstAccess: number[] = [];
  const toStatusRead: number[] = [];
  const toNotify: number[] = [];
  const signal = () => {
    signalledAt = performance.now();
    sawAccess = false;
    if (notifiedAt >= 0) notifyToSignal.push(signalledAt - notifiedAt);
    notifiedAt = -1;
  };
  const access = (now: number) => {
    if (signalledAt >= 0 && !sawAccess) {
      toFirstAccess.push(now - signalledAt);
      sawAccess = true;
    }
  };
  t.read = (offset: number, width: 1 | 2 | 4) => {
    const now = performance.now();
    access(now);
    if (offset === REG.InterruptStatus && signalledAt >= 0 && toStatusRead.length < toNotify.length + 1) {
      toStatusRead.push(now - signalledAt);
    }
    return origRead(offset, width);
  };
  t.write = (offset: number, width: 1 | 2 | 4, value: number) => {
    const now = performance.now();
    access(now);
    if (offset === REG.QueueNotify) {
      if (signalledAt >= 0) toNotify.push(now - signalledAt);
      signalledAt = -1;
      notifiedAt = now;
    }
    origWrite(offset, width, value);
  };
  line.raise = () => {
    signal();
    origRaise();
  };
  router.write = (addr: number, value: number) => {
    signal();
    return origMsi(addr, value);
  };
  return {
    remove() {
      delete t.read;
      delete t.write;
      delete line.raise;
      delete router.write;
    },
    result() {
      return {
        samples: toNotify.length,
        notifyToSignalMs: { median: percentile(notifyToSignal, 50), p90: percentile(notifyToSignal, 90) },
        signalToNextNotifyMs: { median: percentile(toNotify, 50), p90: percentile(toNotify, 90) },
        signalToFirstAccessMs: { median: percentile(toFirstAccess, 50), p90: percentile(toFirstAccess, 90) },
        signalToStatusReadMs: toStatusRead.length
          ? { median: percentile(toStatusRead, 50), p90: percentile(toStatusRead, 90) }
          : null,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One guest, one mode

interface ModeRun {
  mode: Mode;
  bootMs: number;
  irqPath: {
    requests: number;
    perRequest: Record<string, number>;
    guestVirtioIrqs: number;
    raw: Snap;
  };
  latency: ReturnType<ReturnType<typeof installLatencyProbe>["result"]>;
  seqWriteMBps: number;
  seqReadMBps: number;
  randReadIops: number;
  randReadUsPerOp: number;
  hostMs: Record<string, number>;
  faults: number;
}

async function runMode(mode: Mode, diskPath: string, tool: Buffer): Promise<ModeRun> {
  const device = new BlockDevice({ backend: new FileBackend(diskPath), name: "blk0", serial: "v86-msi-bench" });
  const guest = await bootGuest({
    devices: [device],
    msi: mode === "msi",
    memoryMB: MEMORY_MB,
    ...(mode === "line" ? { append: "virtio_mmio.msi=0" } : {}),
  });
  try {
    const bootMs = guest.bootMs;
    await upload(guest, tool, "/tmp/qd1");

    // 2 + 4: interrupt path and latency, fixed workload.
    await sh(guest, "sync; echo 3 > /proc/sys/vm/drop_caches");
    const irq0 = await guestVirtioIrqs(guest);
    const s0 = snapshot(guest);
    const probe = installLatencyProbe(guest);
    const t = performance.now();
    await sh(guest, `dd if=/dev/vda of=/dev/null bs=4k count=${IRQ_PATH_REQUESTS} iflag=direct 2>/dev/null`);
    const irqPathHostMs = performance.now() - t;
    probe.remove();
    const d = diff(s0, snapshot(guest));
    const irq1 = await guestVirtioIrqs(guest);
    const n = d.completed;
    const perRequest = {
      InterruptStatusReads: d.InterruptStatusReads / n,
      InterruptACKWrites: d.InterruptACKWrites / n,
      QueueNotifyWrites: d.QueueNotifyWrites / n,
      mmioAccesses: (d.mmioReads + d.mmioWrites) / n,
      msiDelivered: d.msiDelivered / n,
      lineRaised: d.lineRaised / n,
      guestIrqs: (irq1 - irq0) / n,
    };

    // 3: throughput. Write first so the read covers written data; O_DIRECT both ways.
    const w = await guestTimed(guest, `dd if=/dev/zero of=/dev/vda bs=1M count=${SEQ_MIB} oflag=direct`);
    const r = await guestTimed(guest, `dd if=/dev/vda of=/dev/null bs=1M count=${SEQ_MIB} iflag=direct`);
    const tr = performance.now();
    const out = await sh(guest, `/tmp/qd1 rand /dev/vda ${RAND_OPS}`);
    const randHostMs = performance.now() - tr;
    const m = /ops=(\d+) ns=(\d+)/.exec(out);
    if (!m) throw new Error(`qd1: ${out}`);
    const ops = Number(m[1]);
    const ns = Number(m[2]);

    const errors = (await sh(guest, "dmesg | grep -ciE 'I/O error|virtio.*(error|fail)' || true")).trim();
    if (errors !== "0" || device.counters.errors !== 0) throw new Error(`disk errors in ${mode} run: dmesg ${errors}, device ${device.counters.errors}`);

    return {
      mode,
      bootMs,
      irqPath: { requests: n, perRequest, guestVirtioIrqs: irq1 - irq0, raw: d },
      latency: probe.result(),
      seqWriteMBps: (SEQ_MIB * MiB) / 1e6 / (w.ns / 1e9),
      seqReadMBps: (SEQ_MIB * MiB) / 1e6 / (r.ns / 1e9),
      randReadIops: ops / (ns / 1e9),
      randReadUsPerOp: ns / 1e3 / ops,
      hostMs: { irqPath: irqPathHostMs, seqWrite: w.hostMs, seqRead: r.hostMs, randRead: randHostMs },
      faults: guest.machine.faults.length,
    };
  } finally {
    await guest.shutdown();
  }
}

async function bootNoDevices(): Promise<number> {
  const guest = await bootGuest({ devices: [], memoryMB: MEMORY_MB });
  const ms = guest.bootMs;
  await guest.shutdown();
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Report

function machineInfo() {
  let cpuModel = "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    cpuModel = cpus()[0]?.model ?? "unknown";
  }
  return { cpuModel, cores: cpus().length, node: process.version, platform: `${process.platform} ${process.arch}`, loadAvgAtStart: loadavg().map((x) => Number(x.toFixed(2))) };
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
const cell = (xs: number[], digits = 2) => {
  const s = stats(xs);
  return s.n > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits);
};

async function main() {
  const started = performance.now();
  const machine = machineInfo();
  const { bytes: tool, origin: toolOrigin } = qd1Binary();
  const disk = makeDisk();
  log(`${RUNS} runs; ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; qd1 ${toolOrigin}`);
  const runs: { msi: ModeRun; line: ModeRun; noDevicesBootMs: number }[] = [];
  try {
    // Warm-up boot, discarded: the first emulator in a process pays for compiling v86's wasm and our code.
    await bootNoDevices();
    for (let i = 0; i < RUNS; i++) {
      const msi = await runMode("msi", disk.path, tool);
      log(`run ${i + 1} msi: boot ${msi.bootMs.toFixed(0)} ms, read ${msi.seqReadMBps.toFixed(1)} MB/s, ${msi.randReadIops.toFixed(0)} IOPS`);
      const line = await runMode("line", disk.path, tool);
      log(`run ${i + 1} line: boot ${line.bootMs.toFixed(0)} ms, read ${line.seqReadMBps.toFixed(1)} MB/s, ${line.randReadIops.toFixed(0)} IOPS`);
      const noDevicesBootMs = await bootNoDevices();
      log(`run ${i + 1} no devices: boot ${noDevicesBootMs.toFixed(0)} ms`);
      runs.push({ msi, line, noDevicesBootMs });
    }
  } finally {
    disk.remove();
  }

  const col = (f: (r: ModeRun) => number) => ({ msi: runs.map((r) => f(r.msi)), line: runs.map((r) => f(r.line)) });
  const ratio = (f: (r: ModeRun) => number) => runs.map((r) => f(r.msi) / f(r.line));
  const rows: { name: string; unit: string; f: (r: ModeRun) => number; digits?: number; better?: string }[] = [
    { name: "Boot to prompt (virtio-blk attached)", unit: "ms", f: (r) => r.bootMs, digits: 0 },
    { name: "InterruptStatus reads / request", unit: "", f: (r) => r.irqPath.perRequest.InterruptStatusReads!, digits: 3 },
    { name: "InterruptACK writes / request", unit: "", f: (r) => r.irqPath.perRequest.InterruptACKWrites!, digits: 3 },
    { name: "QueueNotify writes / request", unit: "", f: (r) => r.irqPath.perRequest.QueueNotifyWrites!, digits: 3 },
    { name: "All MMIO accesses / request", unit: "", f: (r) => r.irqPath.perRequest.mmioAccesses!, digits: 3 },
    { name: "MSIs delivered / request", unit: "", f: (r) => r.irqPath.perRequest.msiDelivered!, digits: 3 },
    { name: "Line assertions / request", unit: "", f: (r) => r.irqPath.perRequest.lineRaised!, digits: 3 },
    { name: "Guest virtio interrupts / request (/proc/interrupts)", unit: "", f: (r) => r.irqPath.perRequest.guestIrqs!, digits: 3 },
    { name: "Sequential write, 64 MiB, bs=1M, O_DIRECT", unit: "MB/s", f: (r) => r.seqWriteMBps, digits: 1 },
    { name: "Sequential read, 64 MiB, bs=1M, O_DIRECT", unit: "MB/s", f: (r) => r.seqReadMBps, digits: 1 },
    { name: "Random read 4 KiB, QD1, O_DIRECT (qd1)", unit: "IOPS", f: (r) => r.randReadIops, digits: 0 },
    { name: "Random read 4 KiB, QD1: time per op", unit: "µs", f: (r) => r.randReadUsPerOp, digits: 0 },
    { name: "Latency: QueueNotify → device signal (median)", unit: "µs", f: (r) => r.latency.notifyToSignalMs.median * 1000, digits: 0 },
    { name: "Latency: signal → next QueueNotify (median)", unit: "µs", f: (r) => r.latency.signalToNextNotifyMs.median * 1000, digits: 0 },
    { name: "Latency: signal → next QueueNotify (p90)", unit: "µs", f: (r) => r.latency.signalToNextNotifyMs.p90 * 1000, digits: 0 },
    { name: "Latency: signal → first MMIO access on the device (median)", unit: "µs", f: (r) => r.latency.signalToFirstAccessMs.median * 1000, digits: 0 },
  ];

  const lines: string[] = [];
  lines.push(`# Benchmarks — ${new Date().toISOString()}`);
  lines.push("");
  lines.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (${machine.platform}). ` +
    `Host load average at start (1/5/15 min): ${machine.loadAvgAtStart.join(" / ")}, at end: ${loadavg().map((x) => x.toFixed(2)).join(" / ")} — timing figures are only as quiet as the host. ` +
    `Guest: Linux 6.12 i386 on v86, ${MEMORY_MB} MB RAM, one virtio-blk on a ${DISK_MIB} MiB temporary image file (FileBackend).`);
  lines.push(`Each cell: median of ${RUNS} runs (min–max). MSI and line runs alternate in one process (after one discarded warm-up boot); MSI/line ratios are per pair, then the median.`);
  lines.push("");
  lines.push("| Metric | Unit | MSI | Line (`virtio_mmio.msi=0`) | MSI / line |");
  lines.push("|---|---|---|---|---|");
  const boot0 = runs.map((r) => r.noDevicesBootMs);
  lines.push(`| Boot to prompt, no devices | ms | ${cell(boot0, 0)} | | |`);
  for (const row of rows) {
    const c = col(row.f);
    const ratios = ratio(row.f);
    const ratioCell = ratios.every((x) => Number.isFinite(x)) ? cell(ratios, 2) : "—";
    lines.push(`| ${row.name} | ${row.unit} | ${cell(c.msi, row.digits)} | ${cell(c.line, row.digits)} | ${ratioCell} |`);
  }
  const lineStatus = runs.map((r) => r.line.latency.signalToStatusReadMs?.median ?? Number.NaN).map((x) => x * 1000);
  lines.push(`| Latency: line raised → InterruptStatus read (median) | µs | — | ${cell(lineStatus, 0)} | |`);
  lines.push(`| Boot with virtio-blk / boot without devices | × | ${cell(runs.map((r) => r.msi.bootMs / r.noDevicesBootMs), 2)} | ${cell(runs.map((r) => r.line.bootMs / r.noDevicesBootMs), 2)} | |`);
  lines.push("");
  lines.push("Notes:");
  lines.push(`- Interrupt path: \`echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=4k count=${IRQ_PATH_REQUESTS} iflag=direct\`; ` +
    "counts are deltas over that command divided by the requests the device completed. MMIO accesses are all register and config accesses on the device window.");
  lines.push("- Throughput: busybox dd with O_DIRECT (`oflag=direct` from /dev/zero, then `iflag=direct` to /dev/null), timed in the guest with CLOCK_MONOTONIC (`qd1 now`; busybox date has no %N) around dd (includes dd's start-up).");
  lines.push(`- Random reads: \`bench/guest-tool/qd1.c\`, a libc-free static i386 program uploaded over the console; one process issues ${RAND_OPS} ` +
    "back-to-back 4 KiB O_DIRECT preads at xorshift-random 4 KiB-aligned offsets over the whole disk and times the loop with CLOCK_MONOTONIC. " +
    "This is queue depth 1 latency-bound IOPS of the whole path (syscall, block layer, virtio request, device, interrupt, wake-up), without a fork/exec per request (a shell loop of dd would measure mostly process start-up).");
  lines.push("- Latency: host `performance.now()` from the guest's QueueNotify write to the device's signal (device side: the task that walks the queue, the backend, the used ring), and from the device's signal (line raise / MSI write to the bus) to the guest's next MMIO access on the device and to the next QueueNotify (QD1 turnaround: interrupt delivery, handler, wake-up, next submission). " +
    "With MSI the handler touches no register, so the first access after the signal is the next QueueNotify. v86 runs the guest in batches between host tasks, so these are host wall-clock figures including that batching.");
  lines.push("- Not measured: v86's own IDE disk — the guest kernel (tinyconfig + guest/kernel.config) has no ATA/IDE driver (no CONFIG_ATA / CONFIG_BLK_DEV_IDE), so Linux cannot see an `hda`.");
  const md = lines.join("\n") + "\n";

  const result = {
    date: new Date().toISOString(),
    machine,
    config: { runs: RUNS, memoryMB: MEMORY_MB, diskMiB: DISK_MIB, seqMiB: SEQ_MIB, irqPathRequests: IRQ_PATH_REQUESTS, randOps: RAND_OPS, qd1: toolOrigin },
    summary: Object.fromEntries([
      ["bootNoDevicesMs", stats(boot0)],
      ...rows.map((row) => [row.name, { unit: row.unit, msi: stats(col(row.f).msi), line: stats(col(row.f).line), ratioMsiOverLine: stats(ratio(row.f)) }]),
    ]),
    runs,
    ideDisk: { measured: false, reason: "guest kernel has no ATA/IDE driver (CONFIG_ATA not set in guest/kernel.config on tinyconfig)" },
    totalSeconds: (performance.now() - started) / 1000,
  };

  mkdirSync(args.out!, { recursive: true });
  const stamp = result.date.replace(/[:.]/g, "-");
  const json = JSON.stringify(result, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n";
  writeFileSync(join(args.out!, `${stamp}.json`), json);
  writeFileSync(join(args.out!, "latest.json"), json);
  writeFileSync(join(args.out!, "latest.md"), md);
  console.log(md);
  log(`done in ${result.totalSeconds.toFixed(0)} s; results in ${args.out}`);

  const bad = runs.filter((r) => r.msi.irqPath.perRequest.InterruptStatusReads !== 0);
  if (bad.length) {
    console.error("[bench] FAIL: MSI runs read InterruptStatus");
    process.exitCode = 1;
  }
}

await main();
// Emulator timers may keep the event loop alive after shutdown.
process.exit(process.exitCode ?? 0);
