// Boots the guest headless: v86 under Node with the same devices and platform code as the
// page. Used by the `guest` command, the integration tests and the benchmarks.

import { readFileSync } from "node:fs";
import { Machine, type MachineMsiOptions } from "../machine/machine.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { GuestConsole } from "../machine/guest-console.ts";
import { GUEST_BASE_CMDLINE, NO_IDE_CMDLINE, msiLayoutCmdline, type MsiLayout, type MsiMode } from "../firmware/guest-cmdline.ts";
import { DEFAULT_GUEST, v86WasmPath } from "./paths.ts";

/** The prompt the default guest's shell prints (guest/initramfs/init sets PS1). */
export const PROMPT = "~ # ";

export interface BootOptions {
  kernel?: string;
  initrd?: string;
  /** Added to the kernel command line. */
  append?: string;
  /** Probe v86's IDE controller (its `hda` as /dev/sda): only the benchmark's IDE baseline needs it. */
  ide?: boolean;
  memoryMB?: number;
  /** The devices offer MSI (default true); false: the line only. */
  msi?: boolean;
  /**
   * The MSI layout the devices offer (default "v3", docs/virtio-mmio-msi-v3.md); "2020" also
   * tells our driver to read bit 40 as that layout (msiLayoutCmdline). Ignored with `msi: false`.
   */
  msiLayout?: MsiLayout;
  /** Further MSI options (the 2020 table's sharing and vector count, v3's hint) when `msi` is not false. */
  msiOptions?: Omit<MachineMsiOptions, "layout">;
  /** Devices to attach, in slot order. */
  devices?: readonly VirtioDevice[];
  /** Seconds to wait for the shell prompt. */
  timeoutS?: number;
  /** End v86's batch when the guest's access queued device work (default true; MachineOptions). */
  endBatchOnWork?: boolean;
  /** Extra v86 options. */
  v86Options?: Record<string, unknown>;
  /**
   * Start from a saved machine instead of booting (MachineOptions.restore); the same devices,
   * memory and options as the saved one. The shell is asked for a fresh prompt.
   */
  restore?: { readonly v86State: ArrayBuffer; readonly devices: (machine: Machine) => void };
  /** Called once the emulator exists, before waiting for the prompt (joins the network). */
  onMachine?: (machine: Machine) => void;
}

export interface BootedGuest {
  machine: Machine;
  console: GuestConsole;
  /** Milliseconds from start to the shell prompt. */
  bootMs: number;
  shutdown(): Promise<void>;
}

function readImage(path: string, what: string): ArrayBuffer {
  try {
    const bytes = readFileSync(path);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (error) {
    throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The boot options that give the driver `mode`: the devices' layout, or no MSI for the line. */
export function bootInterrupts(mode: MsiMode): Pick<BootOptions, "msi" | "msiLayout"> {
  return mode === "line" ? { msi: false } : { msi: true, msiLayout: mode === "table" ? "2020" : "v3" };
}

export async function bootGuest(options: BootOptions = {}): Promise<BootedGuest> {
  const started = performance.now();
  const msi: MachineMsiOptions | false = options.msi === false ? false : { ...options.msiOptions, layout: options.msiLayout ?? "v3" };
  const machine = await Machine.create({
    images: {
      bios: readImage(DEFAULT_GUEST.bios, "BIOS"),
      vgaBios: readImage(DEFAULT_GUEST.vgaBios, "VGA BIOS"),
      kernel: readImage(options.kernel ?? DEFAULT_GUEST.kernel, "kernel"),
      initrd: readImage(options.initrd ?? DEFAULT_GUEST.initrd, "initrd"),
    },
    wasmPath: v86WasmPath(),
    memoryMB: options.memoryMB ?? 128,
    cmdline: [GUEST_BASE_CMDLINE, options.ide ? "" : NO_IDE_CMDLINE, msi ? msiLayoutCmdline(msi.layout ?? "v3") : "", options.append]
      .filter(Boolean)
      .join(" "),
    devices: options.devices ?? [],
    msi,
    ...(options.v86Options ? { v86Options: options.v86Options } : {}),
    ...(options.endBatchOnWork === undefined ? {} : { endBatchOnWork: options.endBatchOnWork }),
    ...(options.restore ? { restore: options.restore } : {}),
  });
  options.onMachine?.(machine);
  const guestConsole = new GuestConsole(machine);
  // A restored shell printed its prompt before the save: an empty line makes it print one again.
  if (options.restore) guestConsole.send("\n");
  const shutdown = () => machine.destroy();
  try {
    await guestConsole.waitFor(PROMPT, (options.timeoutS ?? 60) * 1000);
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { machine, console: guestConsole, bootMs: performance.now() - started, shutdown };
}
