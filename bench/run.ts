// The benchmarks: npm run bench [-- --runs N] [--only boot,disk,net] [--browser] [--no-readme]
//
// v86 under Node runs the same device, transport and platform code as the page. Every figure
// is the median of N runs (min–max beside it). Within a run the variants of a scenario run one
// after another in one process (their order rotates from run to run), and each ratio is taken
// per run before its median: a slow spell of the shared host hits both sides of a pair.
//
// Scenarios (each in bench/scenarios/):
//   boot     to the shell prompt, no devices vs our virtio-blk + virtio-net (MSI, line)
//   disk     virtio-blk MSI / line / v86's IDE disk: interrupt path, latency, dd, random IOPS
//   net      two guests on a switch: our virtio-net MSI / line, v86's virtio-net (PCI)
//   hotpath  host-side micro-benchmark of the device code, no guest (bench/hot-path.ts)
//   modes    "Do we need the vector table?": per-queue MSI vs vector table vs line (and both
//            MSI designs with shared interrupts) on one short workload (src/compare/)
//   browser  (--browser) the production page in Chromium: boot, disk, charts on vs off, a
//            load from a saved state against a cold one (--only browser-restore: only that)

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bootGuest } from "../src/node/boot.ts";
import { SHELL_LOOP_ITERATIONS, SPIN_ITERATIONS } from "./lib/guest.ts";
import { currentLoad, hostInfo } from "./lib/host.ts";
import { writeReport } from "./lib/report.ts";
import { Section } from "./lib/table.ts";
import { BOOT_VARIANTS, runBoot } from "./scenarios/boot.ts";
import { DISK, DISK_VARIANTS, makeImage, runDisk } from "./scenarios/disk.ts";
import { runHotPath } from "./scenarios/hot-path.ts";
import { MODE_VARIANTS, modeNotes, modeSections, modesVerdict, recordCodeSize, runMode } from "./scenarios/modes.ts";
import { NET, NET_VARIANTS, runNet } from "./scenarios/net.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    only: { type: "string", default: "boot,disk,net,hotpath,modes" },
    browser: { type: "boolean", default: false },
    out: { type: "string", default: join(HERE, "results") },
    "no-readme": { type: "boolean", default: false },
  },
});
const RUNS = Math.max(1, Number.parseInt(args.runs!, 10) || 3);
const only = new Set(args.only!.split(",").map((s) => s.trim()));
if (args.browser) only.add("browser");
const log = (...a: unknown[]) => console.error("[bench]", ...a);

/** `xs` rotated left by `n`: run i starts with a different variant. */
const rotate = <T>(xs: readonly T[], n: number): T[] => xs.map((_, i) => xs[(i + n) % xs.length]!);

const ours = (key: string, label: string) => ({ key, label });
const sections = {
  boot: new Section("boot", "Boot", [ours("none", "No devices"), ours("msi", "virtio-blk + virtio-net, MSI"), ours("line", "same, line")], [
    { label: "MSI / no devices", num: "msi", den: "none" },
    { label: "line / no devices", num: "line", den: "none" },
  ]),
  irqPath: new Section("irqPath", "Interrupt path (2000 × 4 KiB O_DIRECT reads with dd)", [ours("msi", "virtio-blk MSI"), ours("line", "virtio-blk line"), ours("ide", "v86 IDE")], [
    { label: "MSI / line", num: "msi", den: "line" },
  ]),
  latency: new Section("latency", "Interrupt latency (same workload; QD1)", [ours("msi", "virtio-blk MSI"), ours("line", "virtio-blk line"), ours("late", "MSI, v86's batches")], [
    { label: "MSI / line", num: "msi", den: "line" },
    { label: "MSI / v86's batches", num: "msi", den: "late" },
  ]),
  disk: new Section("disk", "Disk", [ours("msi", "virtio-blk MSI"), ours("line", "virtio-blk line"), ours("late", "MSI, v86's batches"), ours("ide", "v86 IDE (hda)")], [
    { label: "MSI / line", num: "msi", den: "line" },
    { label: "MSI / v86's batches", num: "msi", den: "late" },
    { label: "MSI / IDE", num: "msi", den: "ide" },
  ]),
  diskProfile: new Section("diskProfile", "Disk: where the host's time goes (virtio-blk MSI, V8 sampling profile)", [
    ours("seq-write", "sequential write"),
    ours("seq-read", "sequential read"),
    ours("qd1", "random read QD1"),
    ours("qd16", "random read QD16"),
  ], []),
  netProfile: new Section("netProfile", "Network: where the host's time goes in the TCP stream (V8 sampling profile)", [
    ours("msi", "our virtio-net MSI"),
    ours("line", "ours, line"),
    ours("v86", "v86 virtio-net (PCI)"),
  ], []),
  hotpath: new Section("hotpath", "Device hot paths on the host, no guest (bench/hot-path.ts)", [ours("ns", "ns / request"), ours("bytes", "bytes allocated / request")], []),
  net: new Section("net", "Network (two guests, one process)", [ours("msi", "our virtio-net MSI"), ours("line", "ours, line"), ours("v86", "v86 virtio-net (PCI)")], [
    { label: "MSI / line", num: "msi", den: "line" },
    { label: "MSI / v86", num: "msi", den: "v86" },
  ]),
};
const modes = modeSections();

/**
 * The page's load to the prompt over the Node boot of the same guest, run by run: no devices
 * (page `disk=none`, Node's no-device boot) and MSI (the page with its disk and no network,
 * Node with virtio-blk and virtio-net). The page's figure includes fetching the guest's files
 * and compiling v86's wasm.
 */
function pageOverNode(browser: Section): void {
  const page = browser.rows.find((r) => r.name === "Page load to shell prompt");
  const node = sections.boot.rows.find((r) => r.name === "Boot to shell prompt");
  if (!page || !node) return;
  for (const [pageKey, nodeKey] of [["msi", "msi"], ["bare", "none"]] as const) {
    (page.samples[pageKey] ?? []).forEach((ms, run) => {
      const nodeMs = node.samples[nodeKey]?.[run];
      if (nodeMs !== undefined) browser.add("Page load ÷ Node boot to the prompt, same run", "", 2, pageKey, run, ms / nodeMs);
    });
  }
  browser.note("Page load ÷ Node boot: per run, this table's page load over the Node boot table's boot of the same run (no devices: the Node boot with none; MSI: the Node boot with virtio-blk and virtio-net on MSI), then the median.");
}

function notes(): void {
  sections.boot.note("Host time from creating the emulator to the shell prompt (160 MB RAM). The devices: a 96 MiB in-memory virtio-blk (random bytes: nothing to mount) and a virtio-net on a switch port with nobody else on it; `guest.ip=` on every command line so init sets an address instead of waiting for DHCP.");
  sections.boot.note("Emulator speed over the boot: guest instructions to the prompt ÷ host time to it, beside the disk table's speed on a shell loop run many times. Host time to the prompt: V8's sampling profiler (node:inspector, every 0.5 ms, bench/lib/host-profile.ts) in the benchmark's process from creating the emulator to the prompt, by what ran: v86's interpreter (its wasm's instruction handlers), its main loop (dispatch, with the interpreter's fetch and decode inlined), guest code its JIT compiled (the wasm modules it generates), its JIT compiling (analysis, code generation, the browser engine's compile of the module), idle (waiting for a timer: the guest halted, or v86's loop waiting its turn), garbage collection, and everything else (our devices, the console, the benchmark).");
  sections.boot.note("What holds the guest's uptime at the prompt back (goal: 1.0 s): v86 drives the guest's clock from the host's, so the uptime is the host time the boot takes, and the boot runs far below the emulator's speed on code it runs many times (compare the boot's speed row with the disk table's shell-loop speed). The profile rows say why: a boot runs most of its code once, so v86 interprets it (its interpreter and main loop) or spends the time compiling it, where a loop runs as compiled code; the CPU is halted for almost none of it. Fewer guest instructions (the kernel's LZ4 decompression, the initcalls left out) shortened the boot; what is left is the emulator's cost of running cold code.");
  sections.boot.note("Guest instructions: v86's emulated instruction counter when the prompt is printed. Uptime: the start time of the shell init runs (/proc/PID/stat, 10 ms ticks) on the guest's clock, which v86 drives from the host's clock, so host load stretches it. Halted: host time from each return of v86's main loop with the CPU in HLT to the loop's next entry (the guest waiting for a timer or a device), over the host time to the prompt.");
  sections.boot.note("Phases (bench/lib/boot-probe.ts): firmware ends when the CPU first runs flat 32-bit code between 1 and 64 MiB (the bzImage's decompressor), decompression when paging is first on (the kernel), kernel init at the console's \"Run /init as init process\", and /init at the prompt; sampled every ≤100,003 instructions. Guest-clock phases are from dmesg time stamps; the initramfs unpack runs asynchronously beside other initcalls (\"Unpacking initramfs\" to \"Freeing initrd memory\"). Download: file sizes in public/guest, uncompressed by HTTP.");
  sections.boot.note("From a saved state: after each cold boot the machine is saved at its prompt (the state file of the page's Save state and of `guest --save`: v86's state, our devices', the disk's bytes), then that file is read (checked, copied) and restored into a fresh emulator with fresh devices, timed until the shell answers `echo $((6*7))`. The issue's goal is at most 25 % of the cold boot. The sizes leave out the disk, which travels in the file beside the state (here 96 MiB of random bytes; the page's own disk is an 8 MiB ext2 image); gzip: node:zlib at level 6. The file is read as written, compressed (src/machine/state-file-gzip.ts, the web platform's DecompressionStream, about 170 MB/s under Node): with this incompressible 96 MiB disk that alone is about 0.6 s of the restore, which the page's 8 MiB disk does not pay (the browser table's load from a saved state).");
  sections.irqPath.note(`Counts are deltas over \`dd if=DEV of=/dev/null bs=4k count=${DISK.irqPathRequests} iflag=direct\` after dropping caches, divided by the requests the device completed (IDE: by ${DISK.irqPathRequests}). Register accesses are all reads and writes on the device's MMIO window. Exact counts: identical in every run.`);
  sections.latency.note("Probe (bench/lib/irq-probe.ts) on the same dd workload. Instructions: v86's emulated instruction counter, which host load does not disturb; µs: host wall clock, which it does.");
  sections.latency.note("\"CPU takes the interrupt\": the vector's IRR bit in v86's local APIC is clear again. Observed exactly when it happens inside our delivery call (the guest had interrupts enabled), otherwise at the next point JS runs (the device's next register access or the emulator's next batch boundary), so it is an upper bound. The handler's InterruptStatus read is its first instruction that touches the device (line only: an MSI handler touches no register). Next QueueNotify: the whole QD1 turnaround (handler, completion, wake-up, next submission).");
  sections.disk.note("MSI and line: a QueueNotify ends v86's current batch of guest instructions, so the request is done and its interrupt reaches the CPU before the guest runs on (src/platform/v86/batch-end.ts). \"MSI, v86's batches\": the same MSI device with that off (`endBatchOnWork: false`): the request waits for the end of v86's batch, up to about 100,000 guest instructions, while the guest runs on (usually into its idle path). The latency table's \"QueueNotify → device signal (instructions)\" shows that wait.");
  sections.diskProfile.note("Share of the host's time during each workload of the MSI run (the disk table's workloads; every variant there runs them with the profiler on, so its small cost is the same for all: node:inspector sampling every 0.5 ms, bench/lib/host-profile.ts), by what ran: v86 running the guest (its interpreter, its main loop, the guest code its JIT compiled), v86 compiling guest code, v86's JavaScript, our devices and platform (src/), idle (the guest halted, waiting for a timer or a device), and everything else (Node, the benchmark's console shell). What our device code costs is its row; the limit rows of the disk table assume the guest runs at the shell loop's speed, and the interpreter's share says how much of the workload's code runs too few times for v86 to compile it.");
  sections.diskProfile.note("What holds the efficiency back (goal: 0.7): the guest's own code (interpreted, compiled, the main loop) takes most of the host's time in every workload, our devices and platform a small share, idle time (the guest halted until a timer or a completion) most of the rest; the limit assumes the shell loop's speed, while an I/O path runs its kernel code (block layer, driver, page copies) only a few times per request, often interpreted. Before this table, the same profile found v86's guest-RAM view (a Proxy making a typed array per byte accessed) and the garbage it left as the largest host cost of our device path; the devices now use a cached view (src/platform/v86/wasm-view.ts).");
  sections.netProfile.note("Share of the host's time while guest A sends the network table's 8 MiB TCP stream to B (both emulators in this one thread), by the disk profile's categories; every variant is profiled the same way. Idle here is the thread waiting with both guests halted: neither has work until a timer fires or a frame arrives.");
  sections.netProfile.note("What holds TCP throughput back: both guests and their devices share one host thread, so a frame's trip is the sender's driver, the switch, the receiver's device and then the receiver's kernel, each in turn; the profile shows where that time goes beside the guest code v86 runs, and our virtio-net against v86's own on the same topology.");
  sections.disk.note(`Image: ${DISK.imageMiB} MiB of random bytes in host RAM, a fresh copy per boot: ours through MemoryBackend, v86's IDE disk as \`hda: { buffer }\` (Linux ata_piix, /dev/sda). Sequential: busybox dd, ${DISK.seqMiB} MiB, bs=1M, \`oflag=direct\` / \`iflag=direct\`, timed on the guest's CLOCK_MONOTONIC around dd.`);
  sections.disk.note(`Random: \`bench/guest-tool/vbench.c rand\`, 4 KiB O_DIRECT preads at random aligned offsets over the whole disk; QD1 = one process, ${DISK.qd1Ops} reads back to back; QD16 = 16 forked processes, ${DISK.qd16Ops} reads in all (the guest kernel has no AIO), timed from before the first fork to the last exit.`);
  sections.disk.note("Guest instructions: v86's emulated instruction counter over the command (the shell's start of it included), divided by MiB or reads: the guest's CPU cost per I/O, which host load does not change. Time the device spends in our host code, and v86's own device emulation, are not guest instructions.");
  sections.disk.note(`Limit and efficiency: the emulator's speed is guest instructions (v86's counter) per second of the guest's clock while busybox ash counts to ${SHELL_LOOP_ITERATIONS} in a \`while\` loop (general code, no fork; once unmeasured first, since v86 runs a loop's first pass at a quarter of the speed while it compiles it), measured in the same boot before and after the workloads and averaged. A workload's limit is that speed ÷ its guest instructions per MB or per read: the most the guest could do if the device and the host cost it nothing and it never waited. Efficiency = achieved ÷ limit: the share of the workload's time the emulator spent running the guest's instructions; the rest went to the host side (our device code, v86's device emulation) or to waiting. The tight-loop row (\`vbench spin\`, exactly 8 instructions — ALU, a load, a store — ${SPIN_ITERATIONS / 1e6} M times) is v86's JIT at its best, several times the speed on general code, shown for comparison and not used in the limits.`);
  sections.net.note(`Guests 192.168.87.1 (A) and .2 (B), ${NET.memoryMB} MB each, both emulators in one Node thread. UDP: \`vbench udp-ping\`, ${NET.udpRoundTrips} 64-byte round trips one at a time, each timed on A's clock; B runs \`vbench udp-echo\`. TCP: \`vbench tcp-send\` 8 MiB in 64 KiB writes, MB/s measured by B's \`tcp-sink\` from its first byte to EOF.`);
  sections.hotpath.note("The real MmioTransport, SplitQueue, RamMemory and devices driven through their registers by a minimal driver that re-publishes pre-built chains (the TestDriver's RAM, no emulator). Time per request on the host; allocation = heap growth over windows without a scavenge, so it includes the test driver's own share (its task list and MSI log).");
  sections.net.note("Ours: each guest's virtio-net (virtio-mmio) on a port of one VirtualSwitch. v86: `net_device: { type: \"virtio\" }` in each emulator, their buses joined back to back (A's net0-send to B's net0-receive and back) — the same topology without a switch. Guest instructions: both guests' emulated instruction counters over the 300 round trips (the command's start included), per round trip.");
  sections.net.note("Limit and efficiency as in the disk table, with the speed measured on guest A while B idles (both emulators share one thread, so that speed is what the pair can run between them) and both guests' instructions per op: TCP, instructions from the start of `tcp-send` to the sink's result, per MiB of the stream; UDP, the limit is the shortest round trip those instructions allow (instructions per trip ÷ speed), efficiency = that ÷ the median round trip.");
}

async function main(): Promise<void> {
  const started = performance.now();
  const host = hostInfo();
  log(`${RUNS} runs of ${[...only].join(", ")}; ${host.cpuModel}, ${host.cores} cores, load ${host.loadAvgAtStart.join(" ")}`);
  notes();
  const image = makeImage();
  // Warm-up boot, discarded: the first emulator in a process pays for compiling v86's wasm and our code.
  await (await bootGuest({ devices: [], memoryMB: 160 })).shutdown();

  for (let run = 0; run < RUNS; run++) {
    if (only.has("boot")) {
      for (const v of rotate(BOOT_VARIANTS, run)) log(`run ${run + 1} boot ${v}: ${await runBoot(v, image, run, sections.boot)}`);
    }
    if (only.has("disk")) {
      for (const v of rotate(DISK_VARIANTS, run)) log(`run ${run + 1} disk ${v}: ${await runDisk(v, image, run, sections)}`);
    }
    if (only.has("net")) {
      for (const v of rotate(NET_VARIANTS, run)) log(`run ${run + 1} net ${v}: ${await runNet(v, run, sections.net, sections.netProfile)}`);
    }
    if (only.has("hotpath")) log(`run ${run + 1} hot path: ${runHotPath(run, sections.hotpath)}`);
    if (only.has("modes")) {
      for (const v of rotate(MODE_VARIANTS, run)) log(`run ${run + 1} modes ${v}: ${await runMode(v, run, modes)}`);
    }
  }
  if (only.has("modes")) {
    modeNotes(modes);
    recordCodeSize(modes);
  }
  const all: Section[] = [sections.boot, sections.irqPath, sections.latency, sections.disk, sections.diskProfile, sections.net, sections.netProfile, sections.hotpath];
  if (only.has("browser") || only.has("browser-restore")) {
    const { runBrowser } = await import("./scenarios/browser.ts");
    const browserSections = await runBrowser(RUNS, log, !only.has("browser"));
    all.push(...browserSections);
    if (only.has("boot") && only.has("browser")) pageOverNode(browserSections[0]!);
  }

  host.loadAvgAtEnd = currentLoad();
  const md = writeReport(
    {
      date: new Date().toISOString(),
      host,
      runs: RUNS,
      totalSeconds: (performance.now() - started) / 1000,
      config: { only: [...only], disk: DISK, net: NET, speed: { spinIterations: SPIN_ITERATIONS, shellLoopIterations: SHELL_LOOP_ITERATIONS } },
      sections: all,
      ...(only.has("modes") ? { modes: { verdict: modesVerdict(), sections: [modes.setup, modes.io, modes.time, modes.code] } } : {}),
      preamble: [
        `Each cell: median of ${RUNS} runs (min–max). Variants run one after another in one process, their order rotating per run; ratio columns are per-run ratios, then their median. Guest: Linux 6.12 i386 on v86 ${"0.5.462"}.`,
      ],
    },
    args.out!,
    args["no-readme"] ? null : join(HERE, "..", "README.md"),
  );
  console.log(md);
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const msiStatus = sections.irqPath.rows.find((r) => r.name.startsWith("InterruptStatus"))?.samples["msi"] ?? [];
  if (msiStatus.some((x) => x !== 0)) {
    console.error("[bench] FAIL: MSI runs read InterruptStatus");
    process.exitCode = 1;
  }
}

await main();
// Emulator timers may keep the event loop alive after shutdown.
process.exit(process.exitCode ?? 0);
