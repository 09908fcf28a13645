// Per-second rates from two samples of a device's counters: MSIs per vector (table mode) and
// per target (per-queue mode), line interrupts,
// MMIO accesses per register, disk MB/s and IOPS, packets/s. Sampling copies a few numbers
// (no allocation proportional to guest work), so it can run a few times a second beside the
// guest; the arithmetic is pure and unit-tested.

import type { AttachedDevice } from "../machine/machine.ts";
import { msiSentCounts } from "../machine/msi-rows.ts";

export interface DeviceSample {
  /** performance.now() in ms. */
  at: number;
  /** Messages sent per table vector, and per per-queue target (0 = config, 1 + q = queue q). */
  msiSent: number[];
  targetSent: number[];
  lineRaised: number;
  /** Accesses by register, "read:Name" / "write:Name". */
  mmio: Record<string, number>;
  /** Block devices: bytes, completed requests. Network devices: packets. Zero where absent. */
  bytesRead: number;
  bytesWritten: number;
  completed: number;
  rxPackets: number;
  txPackets: number;
}

export interface RegisterRate {
  register: string;
  access: "read" | "write";
  count: number;
  perSecond: number;
}

export interface DeviceRates {
  msiPerVector: number[];
  msiPerTarget: number[];
  /** Both modes' messages together. */
  msi: number;
  line: number;
  mmio: number;
  /** Registers accessed at least once, busiest first. */
  registers: RegisterRate[];
  readMBs: number;
  writeMBs: number;
  iops: number;
  rxPps: number;
  txPps: number;
}

export function sampleDevice(d: AttachedDevice, at: number): DeviceSample {
  const mmio: Record<string, number> = {};
  const { reads, writes } = d.transport.counters;
  for (const k in reads) if (reads[k as keyof typeof reads] > 0) mmio[`read:${k}`] = reads[k as keyof typeof reads];
  for (const k in writes) if (writes[k as keyof typeof writes] > 0) mmio[`write:${k}`] = writes[k as keyof typeof writes];
  const c = d.device.counters;
  const sent = msiSentCounts(d);
  return {
    at,
    msiSent: sent.vectors,
    targetSent: sent.targets,
    lineRaised: d.line.counters.raised,
    mmio,
    bytesRead: c["bytesRead"] ?? 0,
    bytesWritten: c["bytesWritten"] ?? 0,
    completed: c["completed"] ?? 0,
    rxPackets: c["rxPackets"] ?? 0,
    txPackets: c["txPackets"] ?? 0,
  };
}

const MB = 1_000_000;

/** Rates between `prev` and `cur` (the first sample: pass it twice, all rates are 0). */
export function deviceRates(prev: DeviceSample, cur: DeviceSample): DeviceRates {
  const secs = Math.max((cur.at - prev.at) / 1000, 1e-3);
  // A counter that went down was reset with its device: count from zero, never negative.
  const per = (a: number, b: number): number => (a >= b ? (a - b) / secs : a / secs);
  const msiPerVector = cur.msiSent.map((n, i) => per(n, prev.msiSent[i] ?? n));
  const msiPerTarget = cur.targetSent.map((n, i) => per(n, prev.targetSent[i] ?? n));
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  let mmio = 0;
  const registers: RegisterRate[] = [];
  for (const key in cur.mmio) {
    const count = cur.mmio[key]!;
    const perSecond = per(count, prev.mmio[key] ?? 0);
    mmio += perSecond;
    const [access, register] = key.split(":") as ["read" | "write", string];
    registers.push({ register, access, count, perSecond });
  }
  registers.sort((a, b) => b.count - a.count || a.register.localeCompare(b.register));
  return {
    msiPerVector,
    msiPerTarget,
    msi: sum(msiPerVector) + sum(msiPerTarget),
    line: per(cur.lineRaised, prev.lineRaised),
    mmio,
    registers,
    readMBs: per(cur.bytesRead, prev.bytesRead) / MB,
    writeMBs: per(cur.bytesWritten, prev.bytesWritten) / MB,
    iops: per(cur.completed, prev.completed),
    rxPps: per(cur.rxPackets, prev.rxPackets),
    txPps: per(cur.txPackets, prev.txPackets),
  };
}
