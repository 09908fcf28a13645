// What the page loads before its VMs can start, and what it hands them: the guest's images (the
// BIOSes, kernel and initrd; the disk when it is read whole; the state file of state=), each VM's
// disk source, and VM 1's state. Pure (the page fetches; src/ui/load.ts): unit-tested.

import { checkBzImage } from "../platform/bzimage-check.ts";
import type { MachineImages } from "../machine/machine.ts";
import { MachineLimits } from "../platform/machine-limits.ts";
import { stateFileSizeProblem } from "../machine/state-file-gzip.ts";
import type { DiskSource } from "./page-disk.ts";
import { vmCount, type PageSettings } from "./settings.ts";
import type { VmProblem } from "./vm-session.ts";

/**
 * The files to fetch, by name, relative to the page. A page that starts its one VM from a state
 * file (which carries the disk) does not fetch the disk whole: the VM's own disk is then read
 * lazily, and only if the VM is restarted afresh.
 */
export function pageImageUrls(s: PageSettings): Record<string, string> {
  const diskWhole = s.disk !== null && !s.diskLazy && !(s.state && vmCount(s) === 1);
  return {
    bios: "guest/bios.bin",
    vgaBios: "guest/vgabios.bin",
    kernel: s.kernel,
    initrd: s.initrd,
    ...(diskWhole && s.disk ? { disk: s.disk } : {}),
    ...(s.state ? { state: s.state } : {}),
  };
}

export interface PageStart {
  readonly images: MachineImages;
  /** Every VM's disk: each gets its own overlay over the one image (the image is only read). */
  readonly disk: DiskSource | null;
  /** VM 1 starts from this instead of booting (state=). */
  readonly state?: { readonly bytes: Uint8Array; readonly label: string };
}

/** What the VMs start with, from the files `pageImageUrls(s)` named. */
export function pageStart(s: PageSettings, files: Readonly<Record<string, ArrayBuffer>>): PageStart {
  const images = { bios: files["bios"]!, vgaBios: files["vgaBios"]!, kernel: files["kernel"]!, initrd: files["initrd"]! };
  const disk = s.disk ? { kind: "url" as const, url: s.disk, ...(files["disk"] ? { image: files["disk"] } : {}) } : null;
  return { images, disk, ...(files["state"] && s.state ? { state: { bytes: new Uint8Array(files["state"]), label: s.state } } : {}) };
}

/** Every VM's error when the file at `url` (or an unknown one: null) did not load. */
export function imageLoadProblem(s: PageSettings, url: string | null, message: string): VmProblem {
  return {
    title: "A guest image failed to load",
    text: message,
    help:
      url !== null && url === s.state
        ? `Check that the state file ${url} exists next to this page, or open the page without the state parameter.`
        : `Check that ${url ?? "an image"} exists next to this page (the default guest lives in guest/), or fix the URL parameter that names it.`,
  };
}

/**
 * The most the page downloads of each file (pageImageUrls' names), from MachineLimits: a
 * larger one is refused while it downloads (src/ui/load.ts), before it fills the tab's memory.
 */
export function imageMaxBytes(s: PageSettings, name: string): number {
  switch (name) {
    case "kernel":
      return MachineLimits.kernelBytes;
    case "initrd":
      // v86 loads it at 64 MiB, below the end of the guest's RAM.
      return s.memoryMB * 1024 * 1024 - 64 * 1024 * 1024;
    case "disk":
      return MachineLimits.diskBytes;
    case "state":
      return MachineLimits.stateFileBytes;
    default:
      return 1024 * 1024; // the BIOSes: 128 KiB and 40 KiB
  }
}

/** Every VM's error when a loaded image cannot be used (checked before any emulator is built), or null. */
export function imageProblem(s: PageSettings, files: Readonly<Record<string, ArrayBuffer>>): VmProblem | null {
  const kernel = checkBzImage(files["kernel"]!);
  if ("problem" in kernel) {
    return {
      title: "The kernel cannot be booted",
      text: `${s.kernel} is ${kernel.problem}.`,
      help: "Give kernel= a bzImage built for x86 (arch/x86/boot/bzImage), or open the page without the kernel parameter.",
    };
  }
  const state = files["state"] ? stateFileSizeProblem(files["state"].byteLength) : null;
  if (state !== null) return { title: `${s.state} cannot be restored`, text: state, help: "Open the page without the state parameter." };
  return null;
}
