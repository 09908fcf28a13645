// Smoke test of the guest image: boots public/guest/ in v86 under Node, waits for the
// shell prompt, runs `uname -a; cat /proc/interrupts`, prints the console, exits 0 on success.
//
//   node guest/smoke-boot.mjs [GUEST_DIR]     GUEST_DIR defaults to public/guest
//
// Environment: SMOKE_TIMEOUT_MS (default 90000), SMOKE_QUIET=1 (print only the summary).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { V86 } from "v86";

const PROMPT = "~ # ";
const READY = "guest ready";
const COMMAND = "uname -a; cat /proc/interrupts\n";
const CMDLINE = "console=ttyS0";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const guestDir = resolve(process.argv[2] ?? join(repo, "public/guest"));
const timeoutMs = Number(process.env.SMOKE_TIMEOUT_MS ?? 90_000);
const quiet = process.env.SMOKE_QUIET === "1";

/** @param {string} name */
function image(name) {
  const bytes = readFileSync(join(guestDir, name));
  // v86 wants an ArrayBuffer holding exactly the file.
  return { buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
}

const start = performance.now();
const elapsed = () => ((performance.now() - start) / 1000).toFixed(2);

const emulator = new V86({
  wasm_path: join(repo, "node_modules/v86/build/v86.wasm"),
  bios: image("bios.bin"),
  vga_bios: image("vgabios.bin"),
  bzimage: image("bzImage"),
  initrd: image("initrd.img"),
  cmdline: CMDLINE,
  memory_size: 128 * 1024 * 1024,
  acpi: true,
  autostart: true,
  disable_keyboard: true,
  disable_mouse: true,
  disable_speaker: true,
  log_level: 0,
});

let console_ = "";
let state = "booting"; // booting -> prompt -> done
let promptAt = 0;
let commandStart = 0;

function finish(code, message) {
  if (state === "done") return;
  state = "done";
  if (!quiet || code !== 0) process.stdout.write(code === 0 ? "\n" : `\n--- console ---\n${console_}\n`);
  process.stderr.write(`smoke-boot: ${message}\n`);
  try {
    emulator.destroy();
  } catch {
    // already stopped
  }
  process.exit(code);
}

const timer = setTimeout(
  () => finish(1, `FAIL: no ${state === "booting" ? "prompt" : "command output"} after ${timeoutMs} ms`),
  timeoutMs,
);

emulator.add_listener("serial0-output-byte", (/** @type {number} */ byte) => {
  const ch = String.fromCharCode(byte);
  console_ += ch;
  if (!quiet) process.stdout.write(ch);

  if (state === "booting" && console_.endsWith(PROMPT)) {
    state = "prompt";
    promptAt = Number(elapsed());
    commandStart = console_.length;
    emulator.serial0_send(COMMAND);
  } else if (state === "prompt" && console_.endsWith(PROMPT) && console_.length > commandStart + COMMAND.length) {
    clearTimeout(timer);
    const out = console_.slice(commandStart);
    const problems = [];
    if (!console_.includes(READY)) problems.push(`no "${READY}" line`);
    if (!/Linux v86-guest \S+ #1/.test(out)) problems.push("no `uname -a` output");
    if (!/IO-APIC/.test(out)) problems.push("no IO-APIC line in /proc/interrupts");
    if (!/LOC:/.test(out)) problems.push("no LOC (local APIC timer) line in /proc/interrupts");
    if (problems.length) finish(1, `FAIL: ${problems.join("; ")}`);
    else finish(0, `OK: prompt "${PROMPT}" after ${promptAt.toFixed(2)} s, command done after ${elapsed()} s`);
  }
});
