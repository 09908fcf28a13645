// The `guest` command's choice of interrupts: --msi-layout v3|2020 (the MSI layout the devices
// offer) or --no-msi (the line). Pure, so its refusals are unit-tested.

import { MSI_LAYOUTS, msiModeOfLayout, type MsiLayout, type MsiMode } from "../firmware/guest-cmdline.ts";

/** The layout `append` asks our driver to read bit 40 as, or null when it says nothing. */
function appendedLayout(append: string): string | null {
  return /(?:^|\s)virtio_mmio\.msi_layout=(\S*)/.exec(append)?.[1] ?? null;
}

/** Whether `append` turns our driver's MSI off (a bool module parameter: 0, n, N, off...). */
function appendTurnsMsiOff(append: string): boolean {
  return /(?:^|\s)virtio_mmio\.msi=(0|n|no|off|false)(?:\s|$)/i.test(append);
}

/**
 * The interrupts asked for, as the mode the driver is to take: "queue" (the v3 layout, the
 * default), "table" (the 2020 layout) or "line". Throws (with a message for the user) for an
 * unknown layout and for options that ask for two different things, including a kernel argument
 * in --append that says otherwise: the guest would silently do one of them.
 */
export function parseMsiChoice(layoutText: string | undefined, noMsi: boolean, append = ""): MsiMode {
  if (layoutText !== undefined && !(MSI_LAYOUTS as readonly string[]).includes(layoutText)) {
    throw new Error(`--msi-layout wants one of ${MSI_LAYOUTS.join(", ")}, not "${layoutText}"`);
  }
  if (noMsi && layoutText !== undefined) {
    throw new Error(`--no-msi means no MSI layout at all: it contradicts --msi-layout ${layoutText}`);
  }
  const chosen: MsiMode = noMsi ? "line" : msiModeOfLayout((layoutText ?? "v3") as MsiLayout);
  const asked = appendedLayout(append);
  if (asked !== null && !(asked === "2020" && chosen === "table")) {
    throw new Error(`--append asks for virtio_mmio.msi_layout=${asked}, which contradicts ${noMsi ? "--no-msi" : `--msi-layout ${layoutText ?? "v3"}`}`);
  }
  if (chosen !== "line" && appendTurnsMsiOff(append)) {
    throw new Error(`--append turns MSI off (virtio_mmio.msi=0), which contradicts --msi-layout ${layoutText ?? "v3"}: use --no-msi`);
  }
  return chosen;
}
