// The interrupt designs the comparison runs, as machine options and a kernel argument.
//   queue         the v3 layout: one address/data pair per queue and for config changes
//   table         the 2020 layout's vector table: vectors programmed, queues mapped to them
//   line          no MSI: the devices do not offer it; InterruptStatus + ACK on an IO-APIC line
//   queue-shared  the v3 layout on devices that ask for one message (MsiVectorHint 1)
//   table-shared  the table on devices that ask for sharing with 2 vectors: config changes on
//                 one, every queue on the other (the driver maps them with MAP commands)
// docs/virtio-mmio-msi-v3.md has the per-queue design, docs/virtio-mmio-msi.md the table.

import type { MachineMsiOptions } from "../machine/machine.ts";
import { msiLayoutCmdline, type MsiMode } from "../firmware/guest-cmdline.ts";

export type CompareModeKey = "queue" | "table" | "line" | "queue-shared" | "table-shared";

export interface CompareMode {
  readonly key: CompareModeKey;
  readonly label: string;
  /** The mode the guest's driver is expected to take. */
  readonly msiMode: MsiMode;
  readonly msi: MachineMsiOptions | false;
}

export const COMPARE_MODES: Readonly<Record<CompareModeKey, CompareMode>> = {
  queue: { key: "queue", label: "per-queue", msiMode: "queue", msi: { layout: "v3" } },
  table: { key: "table", label: "vector table", msiMode: "table", msi: { layout: "2020" } },
  line: { key: "line", label: "line", msiMode: "line", msi: false },
  "queue-shared": { key: "queue-shared", label: "per-queue, shared", msiMode: "queue", msi: { layout: "v3", hint: 1 } },
  "table-shared": { key: "table-shared", label: "vector table, shared", msiMode: "table", msi: { layout: "2020", sharing: true, vectors: 2 } },
};

/** The kernel argument a mode needs (the 2020 layout's), or "". */
export function modeCmdline(mode: CompareMode): string {
  return mode.msi ? msiLayoutCmdline(mode.msi.layout ?? "v3") : "";
}

/** The three designs side by side (the page's comparison). */
export const MAIN_MODES: readonly CompareModeKey[] = ["queue", "table", "line"];
/** With the shared variants, for the cost of masking a shared interrupt (the benchmark). */
export const ALL_MODES: readonly CompareModeKey[] = ["queue", "table", "line", "queue-shared", "table-shared"];

/** What the guest ended up using, which may differ from what was asked (a driver that falls back). */
export type ObservedMode = "queue" | "table" | "line";

/** The design a mode key asks for. */
export function designOf(key: CompareModeKey): ObservedMode {
  return COMPARE_MODES[key].msiMode;
}
