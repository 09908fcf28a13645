// A device's MSI messages as rows, in whichever mode its driver took (docs/virtio-mmio-msi.md):
// the vector table's vectors (each with the events mapped to it), or the per-queue mode's
// targets (configuration changes, then each queue, each with its own address/data, enable and
// mask). Pure, no DOM: the device panel renders these rows, window.v86msi.snapshot() and the
// `guest` command's --stats print them.

import type { AttachedDevice } from "./machine.ts";
import { NO_VECTOR, VIRTIO_DEVICE_ID } from "../virtio/constants.ts";
import { irqModeOf } from "./irq-mode.ts";

type TransportState = ReturnType<AttachedDevice["transport"]["state"]>;

export interface MsiRow {
  /** The vector's index (table), or the target's: 0 for configuration changes, 1 + q for queue q. */
  readonly index: number;
  /** What the message carries: "config", queue names such as "req.0" or "output.0", "-" for nothing. */
  readonly events: string;
  readonly addrLow: number;
  readonly addrHigh: number;
  readonly data: number;
  /** Per-queue targets only (a table vector has no enable of its own). */
  readonly enabled?: boolean;
  readonly masked: boolean;
  readonly pending: boolean;
  /** Messages sent. */
  readonly sent: number;
}

export interface MsiRows {
  readonly mode: "table" | "queue";
  /** Vectors in table mode, targets in per-queue mode. */
  readonly rows: readonly MsiRow[];
  /** Table: whether the device maps events onto shared vectors. */
  readonly sharing?: boolean;
  /** Table: configuration changes have no vector. Per-queue: MsiPqHint. */
  readonly configUnmapped?: boolean;
  readonly pairsHint?: number;
}

/**
 * A queue's name as Linux's drivers give it (and /proc/interrupts shows it, after "virtioN-"):
 * virtio-blk req.N; virtio-net input.N/output.N pairs, then control when there is an odd one.
 */
export function queueName(deviceId: number, queue: number, queues: number): string {
  if (deviceId === VIRTIO_DEVICE_ID.BLOCK) return `req.${queue}`;
  if (deviceId === VIRTIO_DEVICE_ID.NET) {
    if (queues % 2 === 1 && queue === queues - 1) return "control";
    return `${queue % 2 === 0 ? "input" : "output"}.${queue >> 1}`;
  }
  return `queue ${queue}`;
}

/** The rows of the mode the driver took, or null when it uses the line (or has no driver yet). */
export function msiRows(d: Pick<AttachedDevice, "transport">, st: TransportState = d.transport.state()): MsiRows | null {
  const mode = irqModeOf(st);
  if (mode === "table" && st.msi) {
    const table = st.msi;
    const counters = d.transport.msi?.counters.vectors ?? [];
    const name = (q: number): string => queueName(st.deviceId, q, table.queueVectors.length);
    return {
      mode,
      sharing: table.sharing,
      configUnmapped: table.configVector === NO_VECTOR,
      rows: table.vectors.map((v, i) => ({
        index: i,
        events: [table.configVector === i ? "config" : "", ...table.queueVectors.map((qv, q) => (qv === i ? name(q) : ""))].filter(Boolean).join(", ") || "-",
        addrLow: v.addrLow,
        addrHigh: v.addrHigh,
        data: v.data,
        masked: v.masked,
        pending: v.pending,
        sent: counters[i]?.sent ?? 0,
      })),
    };
  }
  if (mode === "queue" && st.msiPerQueue) {
    const pq = st.msiPerQueue;
    const counters = d.transport.msiPerQueue?.counters.targets ?? [];
    return {
      mode,
      pairsHint: pq.pairsHint,
      rows: pq.targets.map((t, i) => ({
        index: i,
        events: i === 0 ? "config" : queueName(st.deviceId, i - 1, pq.targets.length - 1),
        addrLow: t.addrLow,
        addrHigh: t.addrHigh,
        data: t.data,
        enabled: t.enabled,
        masked: t.masked,
        pending: t.pending,
        sent: counters[i]?.sent ?? 0,
      })),
    };
  }
  return null;
}

/** Messages sent by each of the device's table vectors and per-queue targets, whatever the mode. */
export function msiSentCounts(d: Pick<AttachedDevice, "transport">): { vectors: number[]; targets: number[] } {
  return {
    vectors: (d.transport.msi?.counters.vectors ?? []).map((v) => v.sent),
    targets: (d.transport.msiPerQueue?.counters.targets ?? []).map((t) => t.sent),
  };
}
