// The saved state of the 2020 layout's vector table (docs/virtio-mmio-msi.md), in the one
// persistence shape (persist.ts): save, check an unknown value into a checked one, apply. It is
// a section of the transport's state (transport-state.ts), whose path names it "msi". Whether
// the table is on is the device's interrupt mode (interrupt-mode.ts): saved here as `enabled`
// (MsiState.ENABLED, as before), checked and restored as the mode by the transport.

import type { MsiTable } from "./msi-table.ts";
import { FIXED_CONFIG_VECTOR, fixedQueueVector, vectorRefusal } from "./msi-table.ts";
import type { Persist } from "./persist.ts";
import { arr, bool, message, obj, onlyKeys, refuse, staged, StateError, u32, type SavedMessage } from "./state-check.ts";

export interface SavedStaged {
  readonly addrLow: number;
  readonly addrHigh: number;
  readonly data: number;
}

export interface SavedMsiTable {
  readonly enabled: boolean;
  readonly vecSel: number;
  readonly staged: SavedStaged;
  readonly configVector: number;
  readonly queueVectors: readonly number[];
  readonly vectors: readonly SavedMessage[];
}

/** What a table was built with: a state must have been saved from one of the same shape. */
export interface MsiTableShape {
  readonly vectors: number;
  readonly sharing: boolean;
  readonly queues: number;
}

export function saveMsiTable(table: MsiTable): SavedMsiTable {
  const t = table.state();
  return {
    enabled: t.enabled, vecSel: t.vecSel, staged: { ...t.staged }, configVector: t.configVector,
    queueVectors: [...t.queueVectors],
    vectors: t.vectors.map((m) => ({ addrLow: m.addrLow, addrHigh: m.addrHigh, data: m.data, masked: m.masked })),
  };
}

/**
 * Checks the section at `path` against a table of `shape`: vectors through the register
 * path's own vector rule, the fixed mapping through the one reset() sets. Throws a StateError.
 */
export function checkMsiTable(input: unknown, shape: MsiTableShape, path = "msi"): SavedMsiTable {
  const { vectors } = shape;
  const m = obj(input, path);
  onlyKeys(m, ["enabled", "vecSel", "staged", "configVector", "queueVectors", "vectors"], path);
  const vector = (v: unknown, at: string): number => {
    const n = u32(v, at);
    refuse(at, vectorRefusal(n, vectors, true));
    return n;
  };
  const msi: SavedMsiTable = {
    enabled: bool(m.enabled, `${path}.enabled`),
    vecSel: u32(m.vecSel, `${path}.vecSel`),
    staged: staged(m.staged, `${path}.staged`),
    configVector: vector(m.configVector, `${path}.configVector`),
    queueVectors: arr(m.queueVectors, shape.queues, `${path}.queueVectors`).map((v, i) => vector(v, `${path}.queueVectors[${i}]`)),
    vectors: arr(m.vectors, vectors, `${path}.vectors`).map((v, i) => message(v, `${path}.vectors[${i}]`)),
  };
  if (!shape.sharing) {
    // The fixed mapping cannot change: a state that says otherwise was edited.
    const fixed = msi.configVector === FIXED_CONFIG_VECTOR && msi.queueVectors.every((v, q) => v === fixedQueueVector(q, vectors));
    if (!fixed) throw new StateError(path, "a mapping other than the fixed one on a device without msi_sharing");
  }
  return msi;
}

/** The table's Persist: its shape is the table's own; apply leaves the mode to the transport. */
export function msiTablePersist(table: MsiTable): Persist<SavedMsiTable, SavedMsiTable> {
  const shape = { vectors: table.vectorCount, sharing: table.sharing, queues: table.queueCount };
  return {
    save: () => saveMsiTable(table),
    check: (input) => checkMsiTable(input, shape),
    apply: (s) => table.restore(s),
  };
}
