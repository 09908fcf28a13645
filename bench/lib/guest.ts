// Driving a booted guest from the benchmarks: shell commands, uploading the measuring tool,
// timing commands on the guest's own clock.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { instructionsBetween } from "../../src/compare/device-counts.ts";
import { irqTotal, parseInterrupts } from "../../src/compare/proc-interrupts.ts";
import { run, type GuestShell } from "../../src/compare/shell.ts";
import type { GuestConsole } from "../../src/machine/guest-console.ts";
import { instructionRate } from "./limit.ts";

const TOOL = join(dirname(fileURLToPath(import.meta.url)), "..", "guest-tool", "vbench");
/** Where the tool lives in the guest. */
export const VBENCH = "/tmp/vbench";

/** Anything with a console that runs shell commands: a Node guest here, the page in --browser. */
export type Shell = GuestShell;

export function consoleShell(c: GuestConsole): Shell {
  return { exec: (command, timeoutMs) => c.exec(command, timeoutMs) };
}

/** Runs a command; a non-zero status is an error. */
export const sh = run;

/** The committed static i386 build of bench/guest-tool/vbench.c (rebuild: guest-tool/build.sh). */
export function toolBinary(): Buffer {
  if (!existsSync(TOOL)) throw new Error(`${TOOL} is missing: run bench/guest-tool/build.sh`);
  return readFileSync(TOOL);
}

/** Sends `bytes` to `path` in the guest through the console: gzip, base64, short lines. */
export async function upload(shell: Shell, bytes: Buffer, path: string): Promise<void> {
  const b64 = gzipSync(bytes, { level: 9 }).toString("base64");
  await sh(shell, `rm -f ${path}.b64`);
  // Lines stay well below busybox ash's line-editing limit (1 KiB).
  for (let i = 0; i < b64.length; i += 800) await sh(shell, `printf '%s' '${b64.slice(i, i + 800)}' >> ${path}.b64`);
  await sh(shell, `base64 -d ${path}.b64 | gunzip > ${path} && chmod +x ${path} && rm ${path}.b64`);
}

/** Runs a shell command and returns how long it took on the guest's CLOCK_MONOTONIC (ns). */
export async function guestTimedNs(shell: Shell, command: string, timeoutMs = 300_000): Promise<number> {
  const out = await sh(shell, `t0=$(${VBENCH} now); ${command} 2>/dev/null; t1=$(${VBENCH} now); echo $((t1 - t0))`, timeoutMs);
  const ns = Number(out.trim().split("\n").pop());
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`could not time: ${command}\n${out}`);
  return ns;
}

/** `key=value` pairs of numbers from the tool's output line. */
export function parseKv(out: string): Record<string, number> {
  const kv: Record<string, number> = {};
  for (const m of out.matchAll(/(\w+)=(\d+)/g)) kv[m[1]!] = Number(m[2]);
  return kv;
}

/** Sum of the guest's /proc/interrupts counts of the interrupts whose handler name matches `name`. */
export async function guestIrqCount(shell: Shell, name: RegExp): Promise<number> {
  return irqTotal(parseInterrupts(await sh(shell, "cat /proc/interrupts")), name);
}

/** The speed's row in the disk and network tables: the one the limits use. */
export const SPEED_ROW = "Emulator speed: guest instructions per second, busybox shell loop";
/** The tight loop's row, for comparison. */
export const TIGHT_SPEED_ROW = "Emulator speed, tight loop (vbench spin; v86's JIT at its best, not in the limits)";

/** Iterations of the shell loop (about 17,500 guest instructions each: half a second or more). */
export const SHELL_LOOP_ITERATIONS = 20_000;
/** Iterations of `vbench spin` (8 instructions each). */
export const SPIN_ITERATIONS = 25_000_000;

const shellLoop = (n: number) => `i=0; while [ $i -lt ${n} ]; do i=$((i + 1)); done`;

/**
 * Runs the shell loop once, unmeasured: the first run of a loop pays for v86 compiling its code
 * (measured here at a quarter of the speed of the next), which a workload repeated thousands of
 * times does not.
 */
export async function warmUpSpeedLoop(shell: Shell): Promise<void> {
  await sh(shell, shellLoop(SHELL_LOOP_ITERATIONS / 4), 120_000);
}

/**
 * The emulator's speed on general code, the one the limits use: busybox ash counting in a
 * `while` loop (parsing, a builtin test, arithmetic, no fork), timed on the guest's clock (TSC,
 * which v86 derives from the host's); `instructions` reads v86's instruction counter(s) on the
 * host (summed over guests, each wrapping at 2^32). Needs the tool uploaded (for the clock).
 */
export async function emulatorSpeed(shell: Shell, instructions: () => Promise<number>): Promise<number> {
  const before = await instructions();
  const ns = await guestTimedNs(shell, shellLoop(SHELL_LOOP_ITERATIONS));
  const rate = instructionRate(instructionsBetween(before, await instructions()), ns);
  if (!Number.isFinite(rate)) throw new Error("the shell loop gave no speed");
  return rate;
}

/**
 * The emulator's best case: `vbench spin`, a loop of exactly 8 instructions that v86's JIT
 * compiles into one tight block; instructions and time both come from the guest.
 */
export async function tightLoopSpeed(shell: Shell): Promise<number> {
  const kv = parseKv(await sh(shell, `${VBENCH} spin ${SPIN_ITERATIONS}`, 120_000));
  const rate = instructionRate(kv.instr ?? 0, kv.ns ?? 0);
  if (!Number.isFinite(rate)) throw new Error(`vbench spin gave no result: ${JSON.stringify(kv)}`);
  return rate;
}
