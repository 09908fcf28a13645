// Which interrupt mode a device's driver actually took, read from the transport's state (not
// from what the page asked for: the device offers every mode it has and the driver picks,
// falling back to the vector table, then to the line, when one fails). Pure, no DOM: the status
// line, the device panel, window.v86msi and the `guest` command's --stats share it.

import type { AttachedDevice } from "./machine.ts";
import { STATUS } from "../virtio/constants.ts";
import type { MsiMode } from "../firmware/guest-cmdline.ts";

/** A device's interrupt mode in use; "none" until its driver has set it up (DRIVER_OK). */
export type IrqModeInUse = MsiMode | "none";

/** What people read for each mode (the page's control uses the same words). */
export const IRQ_MODE_LABEL: Record<IrqModeInUse, string> = {
  queue: "per-queue MSI",
  table: "vector-table MSI",
  line: "line interrupt",
  none: "no driver yet",
};

type TransportState = ReturnType<AttachedDevice["transport"]["state"]>;

/** The mode from a transport snapshot: the MSI mode that is on, else the line once the driver is ready. */
export function irqModeOf(st: TransportState): IrqModeInUse {
  if (st.msiMode === "per-queue") return "queue";
  if (st.msiMode === "table") return "table";
  return st.status & STATUS.DRIVER_OK ? "line" : "none";
}

/** One device's mode, for callers that have the device rather than a snapshot. */
export function deviceIrqMode(d: Pick<AttachedDevice, "transport">): IrqModeInUse {
  return irqModeOf(d.transport.state());
}

/**
 * A VM's modes summed up for its status line: the one mode when every device with a driver
 * uses it, else each device's; and, when MSI was asked for in one mode and the driver took
 * another, what was asked.
 */
export function summariseIrqModes(devices: ReadonlyArray<{ name: string; mode: IrqModeInUse }>, asked: MsiMode): { text: string; mode: IrqModeInUse | "mixed" } {
  const ready = devices.filter((d) => d.mode !== "none");
  if (ready.length === 0) return { text: devices.length ? `interrupts: ${IRQ_MODE_LABEL.none}` : "no devices", mode: "none" };
  const modes = new Set(ready.map((d) => d.mode));
  if (modes.size > 1) {
    return { text: ready.map((d) => `${d.name} ${IRQ_MODE_LABEL[d.mode]}`).join(", "), mode: "mixed" };
  }
  const mode = ready[0]!.mode;
  const fellBack = asked !== mode ? ` (asked for ${IRQ_MODE_LABEL[asked]})` : "";
  return { text: `${IRQ_MODE_LABEL[mode]}${fellBack}`, mode };
}
