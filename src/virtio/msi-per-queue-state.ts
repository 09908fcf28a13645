// The saved state of the v3 layout's targets (docs/virtio-mmio-msi-v3.md), in the one
// persistence shape (persist.ts): save, check an unknown value into a checked one, apply. It is
// a section of the transport's state (transport-state.ts), whose path names it "msiPerQueue".
// MsiControl.MSI_ENABLE is the device's interrupt mode (interrupt-mode.ts): saved here as
// `enabled`, as before, checked and restored as the mode by the transport.

import type { MsiPerQueue } from "./msi-per-queue.ts";
import type { Persist } from "./persist.ts";
import { arr, bool, message, obj, onlyKeys, u32, type SavedMessage } from "./state-check.ts";

/** One v3 target: the effective pair with MASK, ENABLE, and the staged address. */
export interface SavedTarget extends SavedMessage {
  readonly enabled: boolean;
  readonly staged: { readonly addrLow: number; readonly addrHigh: number };
}

/** The v3 layout: MsiControl.MSI_ENABLE and the targets (0 = configuration changes, 1 + q = queue q). */
export interface SavedPerQueue {
  readonly enabled: boolean;
  readonly targets: readonly SavedTarget[];
}

export function savePerQueue(pq: MsiPerQueue): SavedPerQueue {
  const s = pq.state();
  return {
    enabled: s.enabled,
    targets: s.targets.map((t) => ({
      addrLow: t.addrLow, addrHigh: t.addrHigh, data: t.data, masked: t.masked, enabled: t.enabled, staged: { ...t.staged },
    })),
  };
}

/** Checks the section at `path` against targets of a device with `queues` queues. Throws a StateError. */
export function checkPerQueue(input: unknown, queues: number, path = "msiPerQueue"): SavedPerQueue {
  const m = obj(input, path);
  onlyKeys(m, ["enabled", "targets"], path);
  return {
    enabled: bool(m.enabled, `${path}.enabled`),
    targets: arr(m.targets, 1 + queues, `${path}.targets`).map((v, i) => {
      const p = `${path}.targets[${i}]`;
      const t = message(v, p, ["enabled", "staged"]);
      const st = obj(t.staged, `${p}.staged`);
      onlyKeys(st, ["addrLow", "addrHigh"], `${p}.staged`);
      return {
        addrLow: t.addrLow, addrHigh: t.addrHigh, data: t.data, masked: t.masked, enabled: bool(t.enabled, `${p}.enabled`),
        staged: { addrLow: u32(st.addrLow, `${p}.staged.addrLow`), addrHigh: u32(st.addrHigh, `${p}.staged.addrHigh`) },
      };
    }),
  };
}

/** The targets' Persist: apply leaves the mode to the transport. */
export function perQueuePersist(pq: MsiPerQueue): Persist<SavedPerQueue, SavedPerQueue> {
  return {
    save: () => savePerQueue(pq),
    check: (input) => checkPerQueue(input, pq.queueCount),
    apply: (s) => pq.restore(s),
  };
}
