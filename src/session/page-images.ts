// What the page loads before its VMs can start, and what it hands them: the guest's images (the
// BIOSes, kernel and initrd; the disk when it is read whole; the state file of state=), each VM's
// disk source, and VM 1's state. Pure (the page fetches; src/ui/load.ts): unit-tested.

import type { MachineImages } from "../platform/machine.ts";
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
