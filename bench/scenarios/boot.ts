// Boot: time from creating the emulator to the shell prompt, with no devices and with our
// virtio-blk and virtio-net attached (MSI, then the line). The difference is what probing and
// setting up our devices costs the guest's boot. Every variant boots with the same command line
// apart from the interrupt mode.
//
// Besides the host's wall time: the guest instructions to the prompt, the guest's own uptime
// when its shell started, the share of the boot the CPU sat halted, and where the boot goes
// phase by phase (bench/lib/boot-probe.ts), so a regression shows which phase it is in.
//
// Side by side with each cold boot: the same machine saved at its prompt (docs/save-restore.md),
// then started from that state file (compressed, as the page and `guest --save` write it) in a
// fresh emulator, timed to a responsive prompt; and the state's size, raw and gzip-compressed.

import { statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { restoreFrom, saveMachine } from "../../src/machine/save-machine.ts";
import { encodeSavedMachine } from "../../src/machine/state-file.ts";
import { packSavedMachine, unpackSavedMachine } from "../../src/machine/state-file-gzip.ts";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { bootGuest, PROMPT } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import { BootProbe, type Mark } from "../lib/boot-probe.ts";
import { PROFILE_CATEGORIES, startHostProfile } from "../lib/host-profile.ts";
import { dmesgSeconds, statStartSeconds } from "../lib/guest-clock.ts";
import { consoleShell, sh } from "../lib/guest.ts";
import type { Section } from "../lib/table.ts";

export type BootVariant = "none" | "msi" | "line";
export const BOOT_VARIANTS: readonly BootVariant[] = ["none", "msi", "line"];
const MEMORY_MB = 160;
const MiB = 1024 * 1024;
const size = (path: string) => statSync(path).size;

/** The variant's devices, over `disk` (written through: it holds the guest's writes). */
function devicesOf(variant: BootVariant, disk: Uint8Array) {
  return variant === "none"
    ? []
    : [
        new BlockDevice({ backend: new MemoryBackend(disk), name: "blk0" }),
        new NetDevice({ backend: new VirtualSwitch().createPort(), name: "net0" }),
      ];
}

export async function runBoot(variant: BootVariant, image: Uint8Array, run: number, s: Section): Promise<string> {
  const disk = image.slice();
  const seen: { probe?: BootProbe } = {};
  // A static address: without one the guest's init asks DHCP on eth0 for ~3 s, and nobody on
  // this switch answers; that wait is not the devices' cost.
  const options = {
    msi: variant !== "line",
    memoryMB: MEMORY_MB,
    append: ["guest.ip=192.168.87.1/24", variant === "line" ? "virtio_mmio.msi=0" : ""].join(" ").trim(),
  };
  const profiler = await startHostProfile();
  const guest = await bootGuest({
    ...options,
    devices: devicesOf(variant, disk),
    onMachine: (machine) => {
      seen.probe = new BootProbe(machine, PROMPT);
    },
  });
  // Read as soon as the prompt is seen: what the guest executed to get there, whatever the host's load.
  const instructions = (guest.machine.cpu as typeof guest.machine.cpu & { instruction_counter: Uint32Array }).instruction_counter[0]! >>> 0;
  const p = seen.probe!.profile();
  const hostShares = await profiler.stop();
  let stat: string;
  let dmesg: string;
  let raw: Uint8Array;
  let file: Uint8Array;
  try {
    const shell = consoleShell(guest.console);
    // $$ is the interactive shell init started: its start time is the guest's uptime at the prompt.
    stat = await sh(shell, "cat /proc/$$/stat");
    dmesg = await sh(shell, "dmesg");
    // The state file the page's Save state or `guest --save` writes (the disk's bytes in it).
    const { v86State, devices } = await saveMachine(guest.machine);
    const boot = { memoryMB: MEMORY_MB, msiMode: variant === "line" ? ("line" as const) : null, append: options.append, net: "switch", diskReadOnly: variant === "none" ? null : false };
    const saved = { boot, devices, v86State, disk: variant === "none" ? null : disk };
    raw = encodeSavedMachine(saved);
    file = await packSavedMachine(saved);
  } finally {
    await guest.shutdown();
  }
  const restored = await restoreToPrompt(variant, file, options);
  if (!p.decompressor || !p.kernel || !p.runInit || !p.prompt) {
    throw new Error(`boot probe missed a phase boundary: ${JSON.stringify(p)}`);
  }
  const uptime = statStartSeconds(stat);
  const runInit = dmesgSeconds(dmesg, "Run /init as init process");
  const unpackFrom = dmesgSeconds(dmesg, "Unpacking initramfs...");
  const unpackTo = dmesgSeconds(dmesg, "Freeing initrd memory");
  const mInstr = (a: Mark | { instructions: number }, b: Mark) => ((b.instructions - a.instructions) >>> 0) / 1e6;

  s.add("Boot to shell prompt", "ms", 0, variant, run, guest.bootMs);
  s.add("Guest instructions to the prompt", "M instr", 1, variant, run, instructions / 1e6);
  s.add("Guest uptime when the shell starts (guest clock)", "s", 2, variant, run, uptime);
  s.add("CPU halted, share of the host time to the prompt", "%", 1, variant, run, (100 * p.haltedMs) / p.prompt.ms);
  s.add("Emulator speed over the boot: guest instructions per second of host time", "M instr/s", 0, variant, run, instructions / 1e3 / guest.bootMs);
  for (const c of PROFILE_CATEGORIES) s.add(`Host time to the prompt: ${c}`, "%", 1, variant, run, 100 * hostShares[c]);
  s.add("Phase: firmware (SeaBIOS, boot ROM, kernel setup)", "M instr", 1, variant, run, mInstr({ instructions: 0 }, p.decompressor));
  s.add("Phase: kernel decompression", "M instr", 1, variant, run, mInstr(p.decompressor, p.kernel));
  s.add("Phase: kernel init (to \"Run /init\")", "M instr", 1, variant, run, mInstr(p.kernel, p.runInit));
  s.add("Phase: /init to the prompt", "M instr", 1, variant, run, mInstr(p.runInit, p.prompt));
  s.add("Phase: firmware + decompression (host time)", "ms", 0, variant, run, p.kernel.ms);
  s.add("Phase: kernel init (guest clock, to \"Run /init\")", "ms", 0, variant, run, runInit * 1000);
  s.add("Phase: initramfs unpack (guest clock; overlaps kernel init)", "ms", 0, variant, run, (unpackTo - unpackFrom) * 1000);
  s.add("Phase: /init to the prompt (guest clock)", "ms", 0, variant, run, (uptime - runInit) * 1000);
  const kernelAndInitrd = size(DEFAULT_GUEST.kernel) + size(DEFAULT_GUEST.initrd);
  s.add("Download: bzImage + initrd.img", "MiB", 2, variant, run, kernelAndInitrd / MiB);
  s.add("Download: every guest file the page fetches", "MiB", 2, variant, run, (kernelAndInitrd + size(DEFAULT_GUEST.bios) + size(DEFAULT_GUEST.vgaBios) + size(DEFAULT_GUEST.disk)) / MiB);
  // The state without the disk: v86's (CPU, RAM, its devices) and ours. The disk travels beside
  // it; here it is random bytes (incompressible), the page's is an 8 MiB ext2 image.
  const stateBytes = raw.length - (variant === "none" ? 0 : disk.length);
  const stateOnly = raw.subarray(0, stateBytes);
  s.add("From a saved state: restore to a responsive prompt", "ms", 0, variant, run, restored.ms);
  s.add("From a saved state: of it, reading the file (decompress, check)", "ms", 0, variant, run, restored.readMs);
  s.add("Restore to prompt / cold boot to prompt", "%", 1, variant, run, (100 * restored.ms) / guest.bootMs);
  s.add("Saved state without the disk (v86 + our devices)", "MiB", 2, variant, run, stateBytes / MiB);
  s.add("Saved state without the disk, gzip -6", "MiB", 2, variant, run, gzipSync(stateOnly, { level: 6 }).length / MiB);
  s.add("State file as written (compressed, disk included)", "MiB", 2, variant, run, file.length / MiB);
  return `boot ${guest.bootMs.toFixed(0)} ms, restore ${restored.ms.toFixed(0)} ms, ${(instructions / 1e6).toFixed(0)} M instr, up ${uptime.toFixed(2)} s, halted ${((100 * p.haltedMs) / p.prompt.ms).toFixed(1)} %`;
}

/**
 * Starts the machine saved in `file` in a fresh emulator: the file read (checked, copied) and the
 * machine restored, until the shell answers a command. Host time.
 */
async function restoreToPrompt(variant: BootVariant, file: Uint8Array, options: { msi: boolean; memoryMB: number; append: string }): Promise<{ ms: number; readMs: number }> {
  const started = performance.now();
  const saved = await unpackSavedMachine(file);
  const readMs = performance.now() - started;
  const guest = await bootGuest({ ...options, devices: devicesOf(variant, saved.disk ?? new Uint8Array(0)), restore: restoreFrom(saved) });
  try {
    // Responsive: a command's answer, not just the prompt printed again.
    const answer = await sh(consoleShell(guest.console), "echo $((6*7))");
    if (answer.trim() !== "42") throw new Error(`the restored guest answered ${JSON.stringify(answer)}`);
    return { ms: performance.now() - started, readMs };
  } finally {
    await guest.shutdown();
  }
}
