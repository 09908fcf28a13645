// The same guest code under Node and in the page: v86's speed on a tight loop and on a shell
// loop, in Chromium as it ships and in Chromium told to skip its baseline WebAssembly compiler
// (`--js-flags=--no-liftoff`: every function, v86's JIT output included, compiled by the
// optimizing compiler before it first runs). If the page is slower than Node on the same code,
// and the flag closes the gap, the time goes to the browser's tiering of v86's generated code.

import type { Browser, Page } from "@playwright/test";
import { bootGuest } from "../../src/node/boot.ts";
import { SHELL_LOOP_ITERATIONS, VBENCH, consoleShell, emulatorSpeed, tightLoopSpeed, toolBinary, upload, warmUpSpeedLoop, type Shell } from "../lib/guest.ts";
import { launchChromium, pageShell, waitForPagePrompt } from "../lib/page.ts";
import { Section } from "../lib/table.ts";

type Variant = "node" | "page" | "noliftoff";

export function engineSection(): Section {
  const s = new Section("engine", "In the browser: v86's speed on the same guest code, page and Node", [
    { key: "node", label: "Node" },
    { key: "page", label: "page (Chromium)" },
    { key: "noliftoff", label: "page, Chromium --no-liftoff" },
  ], [
    { label: "page / Node", num: "page", den: "node" },
    { label: "--no-liftoff / page", num: "noliftoff", den: "page" },
  ]);
  s.note(`No devices (page \`net=none&disk=none&charts=0\`), vbench uploaded over the console. Tight loop: \`vbench spin\` (8 instructions a pass, run once unmeasured first so v86 has compiled it). Shell loop: busybox ash counting to ${SHELL_LOOP_ITERATIONS}, the disk table's emulator speed (once unmeasured first). --no-liftoff: a second Chromium started with \`--js-flags=--no-liftoff\`, which a page cannot ask for; shown to locate the page's gap, not as a setting.`);
  s.note("What holds the page's disk and network rows back (goal: 0.8 × Node): the same guest code runs slower in the page than under Node before any device is involved (the page / Node column); where the --no-liftoff column comes near Node's, the difference is how long Chromium runs v86's generated WebAssembly on its baseline compiler before its optimizing one takes over, which a page cannot change, not our code, which is the same in both.");
  return s;
}

async function measure(shell: Shell, instructions: () => Promise<number>): Promise<{ spin: number; loop: number }> {
  await upload(shell, toolBinary(), VBENCH);
  await tightLoopSpeed(shell);
  const spin = await tightLoopSpeed(shell);
  await warmUpSpeedLoop(shell);
  const loop = await emulatorSpeed(shell, instructions);
  return { spin, loop };
}

async function inPage(browser: Browser, url: string): Promise<{ spin: number; loop: number }> {
  const page: Page = await browser.newPage();
  try {
    await page.goto(`${url}?net=none&disk=none&charts=0`);
    await waitForPagePrompt(page, 180_000);
    const instructions = () => page.evaluate(() => (window.v86msi!.vms[0]!.machine!.cpu as unknown as { instruction_counter: Uint32Array }).instruction_counter[0]! >>> 0);
    return await measure(pageShell(page), instructions);
  } finally {
    await page.close();
  }
}

async function inNode(): Promise<{ spin: number; loop: number }> {
  const guest = await bootGuest({ devices: [], memoryMB: 160 });
  try {
    return await measure(consoleShell(guest.console), async () => guest.machine.cpu.instruction_counter[0]! >>> 0);
  } finally {
    await guest.shutdown();
  }
}

/** One run of the three variants, in an order that rotates with `run`; `browser` is the ordinary Chromium. */
export async function runEngine(s: Section, run: number, browser: Browser, url: string): Promise<string> {
  const order: Variant[] = (["node", "page", "noliftoff"] as const).map((_, i, xs) => xs[(i + run) % xs.length]!);
  const out: string[] = [];
  for (const v of order) {
    let r: { spin: number; loop: number };
    if (v === "node") r = await inNode();
    else if (v === "page") r = await inPage(browser, url);
    else {
      const flagged = await launchChromium(["--js-flags=--no-liftoff"]);
      try {
        r = await inPage(flagged, url);
      } finally {
        await flagged.close();
      }
    }
    s.add("Tight loop (vbench spin)", "M instr/s", 0, v, run, r.spin / 1e6);
    s.add("Shell loop (busybox ash)", "M instr/s", 0, v, run, r.loop / 1e6);
    out.push(`${v} spin ${(r.spin / 1e6).toFixed(0)} loop ${(r.loop / 1e6).toFixed(0)}`);
  }
  return out.join(", ");
}
