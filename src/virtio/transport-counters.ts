// What a virtio-mmio transport counts: every register access by name, the interrupts it sent,
// the notifies it took, each kind of guest error, and our own faults. Plain numbers, counted in
// place by the transport and its parts (each takes the object it counts into), read by the UI.

import { REG, type RegisterName } from "./constants.ts";
import type { InterruptCounters } from "./interrupt-delivery.ts";

export type AccessCounterName = RegisterName;

/** Guest errors by kind. */
export interface MmioTransportErrors {
  badOffset: number; // outside the window, or no register there
  badWidth: number; // register access not an aligned 32-bit one
  badConfigAccess: number; // config access outside configSize or misaligned
  readWriteOnly: number;
  writeReadOnly: number;
  badStatus: number; // invalid status transition
  featuresRejected: number; // FEATURES_OK refused
  featuresLocked: number; // DriverFeatures written outside ACK|DRIVER, before FEATURES_OK
  badFeatureSel: number;
  badQueueSel: number;
  queueLocked: number; // queue register written outside FEATURES_OK..DRIVER_OK or while ready
  badQueueNum: number;
  queueSize: number; // QueueReady = 1 with a bad layout, by reason
  ringAlign: number;
  ringOutOfRange: number;
  badNotify: number;
  ackWhileMsi: number;
  msiWithoutFeature: number;
  noMsi: number; // MSI register on a device without the extension
  badMsiControl: number; // MsiControl written with a reserved bit set
  badQueueReset: number; // QueueReset written when it may not reset (docs/virtio-mmio-msi-v3.md, "Queue reset")
  queueBroken: number;
  activateFailed: number;
}

export interface MmioTransportCounters {
  reads: Record<AccessCounterName, number>;
  writes: Record<AccessCounterName, number>;
  interrupts: InterruptCounters;
  notifies: number;
  /** Queue resets done (QueueReset written 1 while allowed). */
  queueResets: number;
  errors: MmioTransportErrors;
  /** Our side's faults, not the guest's: a device method threw, or the transport did. */
  deviceThrew: number;
  internalError: number;
}

function zeroCounts(): Record<AccessCounterName, number> {
  return Object.fromEntries(Object.keys(REG).map((k) => [k, 0])) as Record<AccessCounterName, number>;
}

export function newTransportCounters(queueCount: number): MmioTransportCounters {
  return {
    reads: zeroCounts(),
    writes: zeroCounts(),
    interrupts: { lineRaised: 0, usedBuffer: 0, perQueue: new Array<number>(queueCount).fill(0), config: 0, msi: 0 },
    notifies: 0,
    queueResets: 0,
    errors: {
      badOffset: 0, badWidth: 0, badConfigAccess: 0, readWriteOnly: 0, writeReadOnly: 0, badStatus: 0,
      featuresRejected: 0, featuresLocked: 0, badFeatureSel: 0, badQueueSel: 0, queueLocked: 0,
      badQueueNum: 0, queueSize: 0, ringAlign: 0, ringOutOfRange: 0, badNotify: 0, ackWhileMsi: 0,
      msiWithoutFeature: 0, noMsi: 0, badMsiControl: 0, badQueueReset: 0, queueBroken: 0, activateFailed: 0,
    },
    deviceThrew: 0,
    internalError: 0,
  };
}
