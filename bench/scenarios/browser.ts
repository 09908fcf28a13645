// --browser: the production page (npm run build, served from a sub-path) in Debian's Chromium,
// the way users run it. Per run, three page loads in rotating order:
//   msi        default settings (MSI, live charts on)
//   line       msi=0
//   nocharts   charts=0 (MSI, no sampling, no charts): what the live charts cost the guest
//   worker     channelyield=0 (MSI): v86's own way of getting the main loop's next turn (a round
//              trip through a Worker per tick) instead of ours (src/platform/v86/tick-yield.ts)
// On each: time to the prompt, the interrupt path counts (window.v86msi.snapshot()), dd
// throughput and random IOPS on a 96 MiB random disk the benchmark serves to the page.
// Then, per run, a saved state against a cold boot: the page with its default disk loaded to
// a responsive prompt, saved with its Save state button, the file served beside the page, and
// a fresh page opened with state= on it, timed to a responsive prompt (docs/save-restore.md).

import type { Browser, Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { VBENCH, guestTimedNs, parseKv, sh, toolBinary, upload, type Shell } from "../lib/guest.ts";
import { buildSite, launchChromium, pageShell, serveSite, waitForPagePrompt, waitForVmPrompt } from "../lib/page.ts";
import { Section } from "../lib/table.ts";
import { engineSection, runEngine } from "./engine.ts";
import { DISK, makeImage } from "./disk.ts";
import { NET, netWorkload } from "./net.ts";

type Variant = "msi" | "line" | "nocharts" | "worker" | "bare";
const VARIANTS: readonly Variant[] = ["msi", "line", "nocharts", "worker", "bare"];
const QUERY: Record<Variant, string> = {
  msi: "&disk=bench-disk.img",
  line: "&disk=bench-disk.img&msi=0",
  nocharts: "&disk=bench-disk.img&charts=0",
  worker: "&disk=bench-disk.img&channelyield=0",
  // No devices at all: only the boot is timed.
  bare: "&disk=none",
};
/** BENCH_PORT: another port when several runs share one machine. */
const PORT = Number(process.env["BENCH_PORT"] ?? 4391);
const MiB = 1024 * 1024;

interface DeviceSnap {
  name: string;
  transport: { reads: Record<string, number>; writes: Record<string, number> };
  device: Record<string, number>;
  line: { raised: number };
}
interface Snap {
  vms: { router: { delivered: number }; devices: DeviceSnap[] }[];
}

async function blkSnap(page: Page): Promise<{ d: DeviceSnap; msi: number }> {
  const s = (await page.evaluate(() => window.v86msi!.snapshot())) as Snap;
  const vm = s.vms[0]!;
  return { d: vm.devices.find((x) => x.name === "blk0")!, msi: vm.router.delivered };
}
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** `restoreOnly`: only the saved state against the cold load (--only browser-restore). */
export async function runBrowser(runs: number, log: (...a: unknown[]) => void, restoreOnly = false): Promise<Section[]> {
  const s = new Section("browser", "In the browser (production build, Chromium)", [
    { key: "msi", label: "MSI, charts on" },
    { key: "line", label: "line, charts on" },
    { key: "nocharts", label: "MSI, charts off" },
    { key: "worker", label: "MSI, v86's worker yield" },
    { key: "bare", label: "no devices" },
  ], [
    { label: "MSI / line", num: "msi", den: "line" },
    { label: "charts on / off", num: "msi", den: "nocharts" },
    { label: "channel / worker yield", num: "msi", den: "worker" },
    { label: "devices / none", num: "msi", den: "bare" },
  ]);
  s.note(`Headless Debian Chromium (/usr/bin/chromium), one tab, page settings \`net=none&mem=${DISK.memoryMB}&disk=bench-disk.img\` plus the variant's (no devices: \`disk=none\`); the ${DISK.imageMiB} MiB random disk is served beside a copy of the build. Boot: from navigation start to the prompt in the terminal's rows (polled every 50 ms). Commands go to the guest through the page's Machine (sendSerial/onSerial), so the terminal renders their output as usual.`);
  s.note(`From a saved state (in the MSI column): the page with \`net=none&mem=${DISK.memoryMB}\` and its default disk (the 8 MiB ext2 image), from navigation start to a shell that answers \`echo $((6*7))\`; then its Save state file (compressed, the disk inside) served beside the page and a fresh tab opened on \`?state=\`, timed the same way: the file fetched, decompressed and checked, the machine rebuilt and restored. The issue's goal is at most 25 % of the cold load.`);
  s.note("Charts off = `charts=0`: no sampling of counters and no live charts; the ratio column is charts on / off of the same run.");
  s.note("v86's worker yield = `channelyield=0`: v86 gets each next turn of its main loop (about 1 ms of guest instructions a turn) by a message round trip through a Worker, as v86 does by itself; every other variant gets it from a MessageChannel on the page's thread (src/platform/v86/tick-yield.ts). A Chromium profile of a boot and a shell loop here (load average 8) put 10.5 % of the main thread in v86's yield and 7.6 % idle waiting for the worker, against 1.9 % and 2.1 % with the channel; the guest's wasm had 64 % against 75 %.");
  s.note("Live panel rows: `window.v86msi.panelCost` (src/ui/panel-cost.ts) over the disk workload: the script time of the device panel's sampling renders (counters read, tables and charts updated), per second of wall clock; milliseconds per second = thousandths of the main thread the guest runs on. The layout and paint the browser does after a render are not in it.");

  const net = new Section("browser-net", "In the browser: network (net=switch: two VMs on a VirtualSwitch in one page)", [
    { key: "msi", label: "our virtio-net MSI" },
    { key: "line", label: "ours, line" },
  ], [{ label: "MSI / line", num: "msi", den: "line" }]);
  net.note(`Page settings \`net=switch&disk=none\` (the page gives the VMs ${NET.subnet}.1 and .2), line: plus \`msi=0\`; charts on. The same vbench UDP and TCP measurements as under Node, with the same emulator speed, limit and efficiency rows (see the Node network table's notes); both VMs share the page's one thread.`);

  const engine = engineSection();

  log("browser: building the site");
  buildSite();
  const server = await serveSite(PORT, { "bench-disk.img": makeImage() });
  const browser = await launchChromium();
  try {
    for (let run = 0; run < runs; run++) {
      if (restoreOnly) {
        log(`run ${run + 1} browser restore: ${await restoreVsCold(browser, server, run, s)}`);
        continue;
      }
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(k + run) % VARIANTS.length]!;
        const page = await browser.newPage();
        try {
          const t0 = performance.now();
          await page.goto(`${server.url}?net=none&mem=${DISK.memoryMB}${QUERY[v]}`);
          await waitForPagePrompt(page, 120_000);
          s.add("Page load to shell prompt", "ms", 0, v, run, performance.now() - t0);
          if (v === "bare") {
            log(`run ${run + 1} browser ${v}: boot ${(performance.now() - t0).toFixed(0)} ms`);
            continue;
          }
          const shell = pageShell(page);
          await upload(shell, toolBinary(), VBENCH);

          const panelCost = () => page.evaluate(() => window.v86msi!.panelCost);
          const cost0 = await panelCost();
          const wall0 = performance.now();
          await sh(shell, "sync; echo 3 > /proc/sys/vm/drop_caches");
          const a = await blkSnap(page);
          await sh(shell, `dd if=/dev/vda of=/dev/null bs=4k count=${DISK.irqPathRequests} iflag=direct 2>/dev/null`);
          const b = await blkSnap(page);
          const n = b.d.device["completed"]! - a.d.device["completed"]!;
          s.add("InterruptStatus reads / request", "", 3, v, run, ((b.d.transport.reads["InterruptStatus"] ?? 0) - (a.d.transport.reads["InterruptStatus"] ?? 0)) / n);
          s.add("All register accesses / request", "", 3, v, run, (sum(b.d.transport.reads) + sum(b.d.transport.writes) - sum(a.d.transport.reads) - sum(a.d.transport.writes)) / n);
          s.add("MSIs delivered / request", "", 3, v, run, (b.msi - a.msi) / n);

          const w = await guestTimedNs(shell, `dd if=/dev/zero of=/dev/vda bs=1M count=${DISK.seqMiB} oflag=direct`);
          const r = await guestTimedNs(shell, `dd if=/dev/vda of=/dev/null bs=1M count=${DISK.seqMiB} iflag=direct`);
          s.add("Sequential write, 64 MiB, bs=1M, O_DIRECT", "MB/s", 1, v, run, (DISK.seqMiB * MiB) / 1e6 / (w / 1e9));
          s.add("Sequential read, 64 MiB, bs=1M, O_DIRECT", "MB/s", 1, v, run, (DISK.seqMiB * MiB) / 1e6 / (r / 1e9));
          for (const [depth, ops] of [[1, DISK.qd1Ops], [16, DISK.qd16Ops]] as const) {
            const kv = parseKv(await sh(shell, `${VBENCH} rand /dev/vda ${ops} ${depth}`));
            s.add(`Random read 4 KiB, QD${depth}, O_DIRECT`, "IOPS", 0, v, run, kv.ops! / (kv.ns! / 1e9));
          }
          // The charts' cost measured directly: the script time of the panel's sampling renders
          // per second of the workload above (wall clock), on the page's one main thread.
          const cost1 = await panelCost();
          const seconds = (performance.now() - wall0) / 1000;
          s.add("Live panel: sampling renders per second", "1/s", 1, v, run, (cost1.renders - cost0.renders) / seconds);
          s.add("Live panel: script time per second of run", "ms/s", 2, v, run, (cost1.scriptMs - cost0.scriptMs) / seconds);
          log(`run ${run + 1} browser ${v}: read ${((DISK.seqMiB * MiB * 1e3) / r).toFixed(1)} MB/s`);
        } finally {
          await page.close();
        }
      }
      log(`run ${run + 1} browser restore: ${await restoreVsCold(browser, server, run, s)}`);
      for (const v of run % 2 ? (["line", "msi"] as const) : (["msi", "line"] as const)) {
        const page = await browser.newPage();
        try {
          await page.goto(`${server.url}?net=switch&disk=none${v === "line" ? "&msi=0" : ""}`);
          await Promise.all([waitForVmPrompt(page, 0, 120_000), waitForVmPrompt(page, 1, 120_000)]);
          const frames = async () => ((await page.evaluate(() => window.v86msi!.snapshot())) as { switch: { frames: number } }).switch.frames;
          const instructions = () =>
            page.evaluate(() =>
              window.v86msi!.vms.reduce((sum, vm) => sum + ((vm.machine!.cpu as unknown as { instruction_counter: Uint32Array }).instruction_counter[0]! >>> 0), 0),
            );
          log(`run ${run + 1} browser net ${v}: ${await netWorkload(pageShell(page, 0), pageShell(page, 1), v, run, net, frames, instructions)}`);
        } finally {
          await page.close();
        }
      }
      log(`run ${run + 1} browser engine: ${await runEngine(engine, run, browser, server.url)}`);
    }
  } finally {
    await browser.close();
    server.stop();
  }
  return restoreOnly ? [s] : [s, net, engine];
}

/** Until the page's VM 1 answers a command (Enter pressed until a prompt shows, then the command). */
async function answers(page: Page, shell: Shell): Promise<void> {
  await waitForVmPrompt(page, 0, 120_000);
  const answer = await sh(shell, "echo $((6*7))");
  if (answer.trim() !== "42") throw new Error(`the page's guest answered ${JSON.stringify(answer)}`);
}

/** A cold page load and a load from its saved state, each to a responsive prompt (MSI column). */
async function restoreVsCold(browser: Browser, server: { url: string; add(name: string, bytes: Uint8Array): void }, run: number, s: Section): Promise<string> {
  const query = `?net=none&mem=${DISK.memoryMB}`;
  const name = `bench-${run}.state`;
  let cold: number;
  let file: Uint8Array;
  const page = await browser.newPage();
  try {
    const t0 = performance.now();
    await page.goto(`${server.url}${query}`);
    await answers(page, pageShell(page));
    cold = performance.now() - t0;
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save state" }).click()]);
    file = readFileSync((await download.path())!);
    server.add(name, file);
  } finally {
    await page.close();
  }
  const restored = await browser.newPage();
  let warm: number;
  try {
    const t0 = performance.now();
    await restored.goto(`${server.url}?state=${name}`);
    await answers(restored, pageShell(restored));
    warm = performance.now() - t0;
  } finally {
    await restored.close();
  }
  s.add("Cold page load (default disk) to a responsive prompt", "ms", 0, "msi", run, cold);
  s.add("Page load from its saved state (state=) to a responsive prompt", "ms", 0, "msi", run, warm);
  s.add("From a saved state / cold page load", "%", 1, "msi", run, (100 * warm) / cold);
  s.add("State file served (compressed, disk included)", "MiB", 2, "msi", run, file.length / MiB);
  return `cold ${cold.toFixed(0)} ms, from state ${warm.toFixed(0)} ms (${((100 * warm) / cold).toFixed(1)} %), file ${(file.length / MiB).toFixed(1)} MiB`;
}
