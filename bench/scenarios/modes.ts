// "Do we need the vector table?": the v3 per-queue layout, the 2020 vector table and the line side by
// side on one workload (src/compare/: the same code the page's "Compare interrupt modes" runs),
// plus both MSI designs with shared interrupts for what masking a shared interrupt costs, and
// the size of each design's own code in the device and in the driver series.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootMode } from "../../src/compare/boot-mode.ts";
import { measureMode, type ModeFigures } from "../../src/compare/measure-mode.ts";
import { ALL_MODES, COMPARE_MODES, designOf, type CompareModeKey } from "../../src/compare/modes.ts";
import { verdict, verdictFigures, type VerdictFigures } from "../../src/compare/verdict.ts";
import { STEPS, WORKLOAD, type StepId } from "../../src/compare/workload.ts";
import { DEFAULT_GUEST, REPO_ROOT, v86WasmPath } from "../../src/node/paths.ts";
import { codeLines, patchDiffstat, patchFunctions } from "../lib/code-size.ts";
import { stats } from "../lib/stats.ts";
import { Section } from "../lib/table.ts";

export { ALL_MODES as MODE_VARIANTS };

/** The driver series (guest/patches/): the patch marked NOT FOR UPSTREAM is the 2020 table; the rest is v3. */
export const DRIVER_PATCHES = "guest/patches";
const DEVICE_FILES = { pq: "src/virtio/msi-per-queue.ts", table: "src/virtio/msi-table.ts", shared: "src/virtio/msi-messages.ts" } as const;
/**
 * The 2020 proposal's v2 Linux driver series as posted (issue 22 quotes its diffstat: +596
 * lines in 9 files). Not measured here: its patches are not in this repository.
 */
const POSTED_2020_SERIES = { added: 596, files: 9 } as const;

const columns = ALL_MODES.map((key) => ({ key, label: COMPARE_MODES[key].label }));
const ratio = [{ label: "per-queue / table", num: "queue", den: "table" }];

export function modeSections() {
  return {
    setup: new Section("modesSetup", "Setup and masking", columns, ratio),
    io: new Section("modesIo", "Per request and per interrupt (counts)", columns, ratio),
    time: new Section("modesTime", "Host time and throughput", columns, ratio),
    code: new Section("modesCode", "Mode-specific code", [
      { key: "pq", label: "per-queue (v3)" },
      { key: "table", label: "vector table (2020)" },
      { key: "shared", label: "shared by both" },
      { key: "posted", label: "2020 v2 series as posted" },
    ], [{ label: "per-queue / table", num: "pq", den: "table" }]),
  };
}
export type ModeSections = ReturnType<typeof modeSections>;

const STEP_NAME: Record<StepId, string> = { qd1: "4 KiB reads, QD1", seq: "1 MiB reads", ping: "pings" };

function images() {
  const buf = (path: string) => {
    const b = readFileSync(path);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  return { bios: buf(DEFAULT_GUEST.bios), vgaBios: buf(DEFAULT_GUEST.vgaBios), kernel: buf(DEFAULT_GUEST.kernel), initrd: buf(DEFAULT_GUEST.initrd) };
}

/** Every run's figures, for the verdict's medians. */
const collected: Partial<Record<CompareModeKey, VerdictFigures[]>> = {};

export async function runMode(key: CompareModeKey, run: number, out: ModeSections): Promise<string> {
  const mode = COMPARE_MODES[key];
  const m = await bootMode({ images: images(), wasmPath: v86WasmPath() }, mode);
  let f: ModeFigures;
  try {
    f = await measureMode(m);
  } finally {
    await m.shutdown();
  }
  if (f.observed !== designOf(key)) {
    // A guest whose driver cannot do the asked design falls back; its figures are not this column's.
    out.setup.note(`The ${mode.label} column is empty where the guest's driver did not use that design (it used the ${f.observed === "queue" ? "per-queue mode" : f.observed}).`);
    return `asked for ${designOf(key)}, the guest used ${f.observed}: not recorded`;
  }
  (collected[key] ??= []).push(verdictFigures(f));
  record(f, key, run, out);
  const qd1 = f.steps.find((s) => s.step === "qd1")!;
  return `boot ${f.bootMs.toFixed(0)} ms, bind ${f.setup.bindMsiAccesses} MSI accesses, ${qd1.accessesPerRequest.toFixed(2)} accesses/read`;
}

function record(f: ModeFigures, key: CompareModeKey, run: number, out: ModeSections): void {
  const s = out.setup;
  s.add("Register accesses, power-on to prompt (both devices)", "", 0, key, run, f.setup.bootAccesses);
  s.add("… of them on MSI registers (power-on to prompt)", "", 0, key, run, f.setup.bootMsiAccesses);
  s.add("Register accesses to bind both drivers again (sysfs)", "", 0, key, run, f.setup.bindAccesses);
  s.add("… of them on MSI registers (bind)", "", 0, key, run, f.setup.bindMsiAccesses);
  s.add("… of them table commands CONFIGURE, MAP_CONFIG, MAP_QUEUE (bind)", "", 0, key, run, f.setup.bindVectorCommands);
  s.add("Register accesses to unbind both drivers", "", 0, key, run, f.setup.unbindAccesses);
  if (f.mask) {
    s.add("MSI interrupts Linux freed and requested (both devices)", "", 0, key, run, f.mask.interrupts);
    s.add("Register accesses per mask (irq_mask)", "", 1, key, run, f.mask.accessesPerMask);
    s.add("Register accesses per unmask (irq_unmask)", "", 1, key, run, f.mask.accessesPerUnmask);
    s.add("MASK commands per mask", "", 1, key, run, f.mask.commandsPerMask);
  }
  for (const step of f.steps) {
    const name = STEP_NAME[step.step];
    const per = STEPS.find((s) => s.id === step.step)!.per;
    out.io.add(`${name}: interrupts / ${per}`, "", 3, key, run, step.interruptsPerRequest);
    out.io.add(`${name}: register accesses / ${per}`, "", 3, key, run, step.accessesPerRequest);
    out.io.add(`${name}: register accesses / interrupt`, "", 3, key, run, step.accessesPerInterrupt);
    // The large reads' per-interrupt detail adds nothing to QD1's.
    if (step.step !== "seq") {
      out.io.add(`${name}: InterruptStatus reads / interrupt`, "", 3, key, run, step.statusReadsPerInterrupt);
      out.io.add(`${name}: ConfigGeneration reads / interrupt`, "", 3, key, run, step.generationReadsPerInterrupt);
    }
    out.io.add(`${name}: guest instructions / ${per}`, "k instr", 1, key, run, step.instructionsPerRequest / 1000);
    out.time.add(`${name}: host time / ${per}`, "µs", 0, key, run, step.hostUsPerRequest);
    out.time.add(`${name}: throughput`, step.throughputUnit, step.throughputUnit === "MB/s" ? 1 : 0, key, run, step.throughput);
  }
  out.time.add("Boot to prompt", "ms", 0, key, run, f.bootMs);
}

/** The series' patch files, each with whether it is the 2020 table's (marked NOT FOR UPSTREAM). */
function driverPatches(read: (path: string) => string): { name: string; text: string; table: boolean }[] {
  return readdirSync(join(REPO_ROOT, DRIVER_PATCHES))
    .filter((f) => /^\d{4}-.*\.patch$/.test(f) && !f.startsWith("0000-"))
    .sort()
    .map((name) => {
      const text = read(`${DRIVER_PATCHES}/${name}`);
      return { name, text, table: /^Subject:.*NOT FOR UPSTREAM/m.test(text) };
    });
}

/** Code sizes, read from the files at bench time. */
export function recordCodeSize(out: ModeSections): void {
  const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
  const c = out.code;
  for (const [key, path] of Object.entries(DEVICE_FILES)) c.add("Device: code lines", "lines", 0, key, 0, codeLines(read(path)));
  const patches = driverPatches(read);
  for (const [key, group] of [["pq", patches.filter((p) => !p.table)], ["table", patches.filter((p) => p.table)]] as const) {
    const stat = group.flatMap((p) => patchDiffstat(p.text));
    const added = (files: typeof stat) => files.reduce((n, f) => n + f.added, 0);
    c.add("Driver: patches", "", 0, key, 0, group.length);
    c.add("Driver: lines added, all files", "lines", 0, key, 0, added(stat));
    c.add("Driver: files touched", "", 0, key, 0, new Set(stat.map((f) => f.file)).size);
    c.add("Driver: lines added to drivers/virtio", "lines", 0, key, 0, added(stat.filter((f) => f.file.startsWith("drivers/virtio/"))));
    const fns = group.flatMap((p) => patchFunctions(p.text));
    c.add("Driver: functions added whole", "", 0, key, 0, fns.length);
    c.add("Driver: code lines of those functions", "lines", 0, key, 0, fns.reduce((n, f) => n + f.lines, 0));
  }
  const reset = patches.find((p) => /^Subject:.*virtqueue reset/im.test(p.text));
  if (reset) c.add("Driver: … of the v3 series, ring reset (lines added)", "lines", 0, "pq", 0, patchDiffstat(reset.text).reduce((n, f) => n + f.added, 0));
  c.add("Driver: lines added, all files", "lines", 0, "posted", 0, POSTED_2020_SERIES.added);
  c.add("Driver: files touched", "", 0, "posted", 0, POSTED_2020_SERIES.files);
  c.note(
    `Device: lines that are neither blank nor comment in ${DEVICE_FILES.pq} (per-queue targets), ${DEVICE_FILES.table} (vector table) and ${DEVICE_FILES.shared} ` +
      `(address/data pairs, mask and sending, used by both). Driver: the diffstat of the series in ${DRIVER_PATCHES}/ (${patches.map((p) => p.name.slice(0, 4)).join(", ")}): ` +
      `per-queue (v3) is every patch meant for upstream (${patches.filter((p) => !p.table).map((p) => p.name.slice(0, 4)).join(", ")}: the x86 device-MSI parent, ` +
      "the genirq exports, per-virtqueue MSI, ring reset), vector table (2020) the patch marked NOT FOR UPSTREAM that adds the 2020 layout on top of them; functions " +
      "added whole and their code lines counted as for the device. The 2020 v2 series as posted: its diffstat as issue 22 quotes it, not measured here. Counted from the files when the benchmark ran.",
  );
}

export function modeNotes(out: ModeSections): void {
  out.setup.note(
    "Each mode boots its own machine (128 MB): our virtio-blk on a blank 32 MiB in-memory disk and our virtio-net on v86's fetch adapter. per-queue and vector table: " +
      "the devices offer the v3 layout (an address/data pair per queue, docs/virtio-mmio-msi-v3.md) or the 2020 layout (the vector table, with " +
      "`virtio_mmio.msi_layout=2020`); line: the devices offer no MSI. Shared: the v3 devices ask for one message (MsiVectorHint 1: the driver keeps configuration " +
      "changes apart and shares one interrupt between the queues); the table devices ask for sharing with 2 vectors (config changes on one, every queue on the other).",
  );
  out.setup.note(
    "Power-on to prompt: every register access of both devices (probe, feature negotiation, queues, interrupts, and DHCP's few requests). Bind and unbind: " +
      "`echo virtioN > /sys/bus/virtio/drivers/DRIVER/unbind`, then `.../bind`, traced register by register. Masking: on this one-CPU guest nothing in normal " +
      "operation masks an MSI (no affinity moves; the drivers disable callbacks in the rings, not interrupts), so the mask and unmask are the ones Linux makes " +
      "when it frees and requests each interrupt during that unbind and bind: the MASK (UNMASK) commands (the table's MsiCmd; a v3 control-word write) and the select " +
      "writes (and control-word reads) just before them, over the number " +
      "of the devices' MSI interrupts. The line has none: its mask is in the IO-APIC, not in the device.",
  );
  out.io.note(
    `Workload (src/compare/workload.ts), in this order on each machine: ${STEPS.map((s) => s.label).join("; ")}. Interrupts: messages the device sent, or ` +
      "times it raised its line. Register accesses per interrupt: every access but the submission's QueueNotify, over the interrupts. Guest instructions: v86's " +
      "instruction counter around the command (the shell's start of it included). Exact counts. The 1 MiB reads are counted per MiB: how the block layer splits " +
      "and merges them into requests (one or two per MiB here) moves with timing, so per request they would not compare; that also moves their instructions per MiB.",
  );
  out.time.note(
    `Host wall-clock time around each command, through the serial console (its echo and markers included), over the reads, MiB or round trips; throughput from the same time (MB/s: ${WORKLOAD.seqMiB} MiB read). Only as quiet as the shared host was.`,
  );
}

/** The verdict from the medians of every run's figures. */
export function modesVerdict(): string {
  const medians: Partial<Record<CompareModeKey, VerdictFigures>> = {};
  for (const [key, runs] of Object.entries(collected) as [CompareModeKey, VerdictFigures[]][]) {
    const m = {} as VerdictFigures;
    for (const field of Object.keys(runs[0]!) as (keyof VerdictFigures)[]) m[field] = stats(runs.map((r) => r[field])).median;
    medians[key] = m;
  }
  return verdict(medians);
}
