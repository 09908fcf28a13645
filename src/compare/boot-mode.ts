// Boots one machine for the comparison: our virtio-blk on a blank in-memory disk and our
// virtio-net on v86's fetch adapter (its router answers pings; nothing leaves the process),
// in one interrupt mode. The page and the benchmark both boot through here, so both measure
// the same machine; only where the images come from differs.

import { BlockDevice } from "../devices/blk/device.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { GuestConsole } from "../machine/guest-console.ts";
import { GUEST_BASE_CMDLINE, NO_IDE_CMDLINE } from "../firmware/guest-cmdline.ts";
import { Machine, type MachineImages } from "../machine/machine.ts";
import { createNetwork } from "../machine/network.ts";
import { modeCmdline, type CompareMode } from "./modes.ts";
import type { GuestShell } from "./shell.ts";
import { WORKLOAD } from "./workload.ts";

/** The prompt the committed guest's shell prints (guest/initramfs/init sets PS1). */
const PROMPT = "~ # ";

export interface CompareEnv {
  images: MachineImages;
  /** v86.wasm: a URL in the page, a file path under Node. */
  wasmPath: string;
  memoryMB?: number;
  /** Seconds to wait for the prompt. */
  bootTimeoutS?: number;
}

export interface ModeMachine {
  readonly mode: CompareMode;
  readonly machine: Machine;
  readonly shell: GuestShell;
  readonly disk: BlockDevice;
  /** Milliseconds from creating the emulator to the shell prompt. */
  readonly bootMs: number;
  shutdown(): Promise<void>;
}

export async function bootMode(env: CompareEnv, mode: CompareMode): Promise<ModeMachine> {
  const started = performance.now();
  const disk = new BlockDevice({ backend: MemoryBackend.blank(WORKLOAD.diskMiB * 1024 * 1024), name: "blk0", serial: "v86-msi-compare" });
  const network = createNetwork("fetch")!;
  const machine = await Machine.create({
    images: env.images,
    wasmPath: env.wasmPath,
    memoryMB: env.memoryMB ?? 128,
    cmdline: [GUEST_BASE_CMDLINE, NO_IDE_CMDLINE, modeCmdline(mode)].filter(Boolean).join(" "),
    devices: [disk, network.device],
    msi: mode.msi,
    v86Options: network.v86Options,
  });
  network.attach(machine);
  const console = new GuestConsole(machine);
  const shutdown = async () => {
    await machine.destroy();
    network.backend.close();
  };
  try {
    await console.waitFor(PROMPT, (env.bootTimeoutS ?? 90) * 1000);
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { mode, machine, shell: console, disk, bootMs: performance.now() - started, shutdown };
}
