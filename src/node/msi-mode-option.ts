// The `guest` command's choice of MSI mode: --msi-mode queue|table|line, with --no-msi as the
// older spelling of "line". Pure, so its refusals are unit-tested.

import { MSI_MODES, type MsiMode } from "../platform/guest-cmdline.ts";

/** The driver's mode argument, or null when `append` has none. */
function appendedMode(append: string): string | null {
  return /(?:^|\s)virtio_mmio\.msi_mode=(\S*)/.exec(append)?.[1] ?? null;
}

/** Whether `append` turns our driver's MSI off (a bool module parameter: 0, n, N, off...). */
function appendTurnsMsiOff(append: string): boolean {
  return /(?:^|\s)virtio_mmio\.msi=(0|n|no|off|false)(?:\s|$)/i.test(append);
}

/**
 * The mode asked for, or undefined for the driver's choice. Throws (with a message for the
 * user) for an unknown mode and for options that ask for two different things, including a
 * kernel argument in --append that says otherwise: the guest would silently do one of them.
 */
export function parseMsiMode(text: string | undefined, noMsi: boolean, append = ""): MsiMode | undefined {
  if (text !== undefined && !(MSI_MODES as readonly string[]).includes(text)) {
    throw new Error(`--msi-mode wants one of ${MSI_MODES.join(", ")}, not "${text}"`);
  }
  const mode = text as MsiMode | undefined;
  if (noMsi && mode !== undefined && mode !== "line") {
    throw new Error(`--no-msi means --msi-mode line: it contradicts --msi-mode ${mode}`);
  }
  const chosen = noMsi ? "line" : mode;
  if (chosen === undefined) return undefined;
  const asked = appendedMode(append);
  if (asked !== null && (chosen === "line" || asked !== chosen)) {
    throw new Error(`--append asks for virtio_mmio.msi_mode=${asked}, which contradicts ${noMsi ? "--no-msi" : `--msi-mode ${chosen}`}`);
  }
  if (chosen !== "line" && appendTurnsMsiOff(append)) {
    throw new Error(`--append turns MSI off (virtio_mmio.msi=0), which contradicts --msi-mode ${chosen}`);
  }
  return chosen;
}
