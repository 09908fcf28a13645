// The interrupt designs the comparison runs, as machine options and a kernel argument.
//   queue         the per-queue mode: one address/data pair per queue and for config changes
//   table         the vector table: vectors programmed, queues mapped to them
//   line          no MSI: the devices do not offer it; InterruptStatus + ACK on an IO-APIC line
//   queue-shared  per-queue mode on devices that ask for one shared pair (MsiPqHint 1)
//   table-shared  the table on devices that ask for sharing with 2 vectors: config changes on
//                 one, every queue on the other (the driver maps them with MAP commands)
// docs/virtio-mmio-msi.md has both designs ("Mapping events to vectors", "The per-queue mode").

import type { MachineMsiOptions } from "../platform/machine.ts";
import type { MsiMode } from "../platform/guest-cmdline.ts";

export type CompareModeKey = "queue" | "table" | "line" | "queue-shared" | "table-shared";

/** MSI options as the device side takes them once it offers the per-queue mode. */
export type CompareMsiOptions = MachineMsiOptions & { perQueue?: boolean; pairsHint?: number };

export interface CompareMode {
  readonly key: CompareModeKey;
  readonly label: string;
  /** What the guest's driver is asked for on its command line. */
  readonly msiMode: MsiMode;
  readonly msi: CompareMsiOptions | false;
}

export const COMPARE_MODES: Readonly<Record<CompareModeKey, CompareMode>> = {
  queue: { key: "queue", label: "per-queue", msiMode: "queue", msi: { perQueue: true } },
  table: { key: "table", label: "vector table", msiMode: "table", msi: { perQueue: true } },
  line: { key: "line", label: "line", msiMode: "line", msi: false },
  "queue-shared": { key: "queue-shared", label: "per-queue, shared", msiMode: "queue", msi: { perQueue: true, pairsHint: 1 } },
  "table-shared": { key: "table-shared", label: "vector table, shared", msiMode: "table", msi: { perQueue: true, sharing: true, vectors: 2 } },
};

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
