// Boot: time from creating the emulator to the shell prompt, with no devices and with our
// virtio-blk and virtio-net attached (MSI, then the line). The difference is what probing and
// setting up our devices costs the guest's boot. Every variant boots with the same command line
// apart from the interrupt mode.
//
// Besides the host's wall time: the guest instructions to the prompt, the guest's own uptime
// when its shell started, the share of the boot the CPU sat halted, and where the boot goes
// phase by phase (bench/lib/boot-probe.ts), so a regression shows which phase it is in.

import { statSync } from "node:fs";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { bootGuest, PROMPT } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import { BootProbe, type Mark } from "../lib/boot-probe.ts";
import { dmesgSeconds, statStartSeconds } from "../lib/guest-clock.ts";
import { consoleShell, sh } from "../lib/guest.ts";
import type { Section } from "../lib/table.ts";

export type BootVariant = "none" | "msi" | "line";
export const BOOT_VARIANTS: readonly BootVariant[] = ["none", "msi", "line"];
const MEMORY_MB = 160;
const MiB = 1024 * 1024;
const size = (path: string) => statSync(path).size;

export async function runBoot(variant: BootVariant, image: Uint8Array, run: number, s: Section): Promise<string> {
  const devices =
    variant === "none"
      ? []
      : [
          new BlockDevice({ backend: new MemoryBackend(image.slice()), name: "blk0" }),
          new NetDevice({ backend: new VirtualSwitch().createPort(), name: "net0" }),
        ];
  const seen: { probe?: BootProbe } = {};
  // A static address: without one the guest's init asks DHCP on eth0 for ~3 s, and nobody on
  // this switch answers; that wait is not the devices' cost.
  const guest = await bootGuest({
    devices,
    msi: variant !== "line",
    memoryMB: MEMORY_MB,
    append: ["guest.ip=192.168.87.1/24", variant === "line" ? "virtio_mmio.msi=0" : ""].join(" ").trim(),
    onMachine: (machine) => {
      seen.probe = new BootProbe(machine, PROMPT);
    },
  });
  // Read as soon as the prompt is seen: what the guest executed to get there, whatever the host's load.
  const instructions = (guest.machine.cpu as typeof guest.machine.cpu & { instruction_counter: Uint32Array }).instruction_counter[0]! >>> 0;
  const p = seen.probe!.profile();
  let stat: string;
  let dmesg: string;
  try {
    const shell = consoleShell(guest.console);
    // $$ is the interactive shell init started: its start time is the guest's uptime at the prompt.
    stat = await sh(shell, "cat /proc/$$/stat");
    dmesg = await sh(shell, "dmesg");
  } finally {
    await guest.shutdown();
  }
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
  return `boot ${guest.bootMs.toFixed(0)} ms, ${(instructions / 1e6).toFixed(0)} M instr, up ${uptime.toFixed(2)} s, halted ${((100 * p.haltedMs) / p.prompt.ms).toFixed(1)} %`;
}
