// How a device's events leave, as one value with a table of legal moves (the shape of
// Firecracker's device status): "line" (InterruptStatus and the interrupt line), "per-queue"
// (the v3 layout's targets under MsiControl.MSI_ENABLE, docs/virtio-mmio-msi-v3.md, D3-D5) or
// "table" (the 2020 layout's vector table under MsiCmd ENABLE, docs/virtio-mmio-msi.md). A
// device has at most one MSI layout, so it reaches at most one of the two MSI modes: the table
// says which, and neither the register path nor a restored state can reach the other.
// Device reset (D2) puts any mode back to "line"; that is not a move of the table.

import type { Refusal } from "./device-status.ts";

export type InterruptMode = "line" | "per-queue" | "table";

/** The MSI layout a device was built with, null without MSI. */
export type MsiLayout = "v3" | "2020" | null;

type LayoutKey = "v3" | "2020" | "none";

/** For each layout, from each mode: the modes one register write may move to. */
export const MODE_TRANSITIONS: {
  readonly [L in LayoutKey]: { readonly [M in InterruptMode]: readonly InterruptMode[] };
} = {
  none: { line: [], "per-queue": [], table: [] },
  v3: { line: ["per-queue"], "per-queue": ["line"], table: [] },
  "2020": { line: ["table"], table: ["line"], "per-queue": [] },
};

/** The mode a layout's MSI switch turns on (null without MSI). */
export function msiModeOf(layout: MsiLayout): InterruptMode | null {
  return layout === "v3" ? "per-queue" : layout === "2020" ? "table" : null;
}

/**
 * Null when `to` may follow `from` on a device of `layout` (staying is always allowed), else
 * why not. The one copy of the rule: InterruptModeState.move() obeys it, a saved state's
 * check (transport-state.ts) refuses a mode that "line" cannot reach with it.
 */
export function modeMoveRefusal(layout: MsiLayout, from: InterruptMode, to: InterruptMode): Refusal<"badModeMove"> | null {
  if (from === to || MODE_TRANSITIONS[layout ?? "none"][from].includes(to)) return null;
  return { counter: "badModeMove", why: `no move from ${from} to ${to} with MSI layout ${JSON.stringify(layout)}` };
}

/**
 * An MSI mode needs its layout's feature negotiated (FEATURES_OK with the bit accepted). The
 * one copy: the MSI registers count `msiWithoutFeature` (msi-registers.ts), a saved state's
 * check refuses with it.
 */
export function msiFeatureRefusal(to: InterruptMode, negotiated: boolean): Refusal<"msiWithoutFeature"> | null {
  if (to === "line" || negotiated) return null;
  return { counter: "msiWithoutFeature", why: `${to} mode without the negotiated MSI feature` };
}

/**
 * The line's level: asserted exactly while the mode is "line" and an event is undelivered
 * (docs/virtio-mmio-msi-v3.md, D4 and D5). The one copy: InterruptDelivery raises the line by it, a
 * saved state's `lineHigh` is checked against it.
 */
export function lineLevel(mode: InterruptMode, anyEvent: boolean): boolean {
  return mode === "line" && anyEvent;
}

/**
 * The device's one mode value, shared by the MSI layout's state and InterruptDelivery. It moves
 * only through move() (the layout's switch: MsiCmd ENABLE/DISABLE in msi-table.ts, MsiControl
 * in msi-per-queue.ts, both called by InterruptDelivery, which does what the move means for
 * the line; and a restore), and reset().
 */
export class InterruptModeState {
  readonly layout: MsiLayout;
  #value: InterruptMode = "line";

  constructor(layout: MsiLayout) {
    this.layout = layout;
  }

  get value(): InterruptMode {
    return this.#value;
  }

  /** Moves to `to` if the table allows it; false (nothing changes) otherwise. */
  move(to: InterruptMode): boolean {
    if (modeMoveRefusal(this.layout, this.#value, to) !== null) return false;
    this.#value = to;
    return true;
  }

  /** Device reset: back to the line from any mode. */
  reset(): void {
    this.#value = "line";
  }
}
