// The register map of a virtio-mmio window below the config space: which offset is which
// register, which may be read or written, and which belong to the MSI extension. The one place
// that decides whether a guest access names a register at all; the transport dispatches on the
// name it returns.

import { REG, type RegisterName } from "./constants.ts";

export const READABLE = new Set<RegisterName>([
  "MagicValue", "Version", "DeviceID", "VendorID", "DeviceFeatures", "QueueNumMax", "QueueReady",
  "InterruptStatus", "Status", "ConfigGeneration", "SHMLenLow", "SHMLenHigh", "SHMBaseLow", "SHMBaseHigh",
  "MsiVecNum", "MsiState", "MsiPqHint", "MsiPqStatus",
]);
export const WRITABLE = new Set<RegisterName>([
  "DeviceFeaturesSel", "DriverFeatures", "DriverFeaturesSel", "QueueSel", "QueueNum", "QueueReady",
  "QueueNotify", "InterruptACK", "Status", "QueueDescLow", "QueueDescHigh", "QueueDriverLow",
  "QueueDriverHigh", "QueueDeviceLow", "QueueDeviceHigh", "SHMSel", "MsiCmd", "MsiVecSel", "MsiAddrLow",
  "MsiAddrHigh", "MsiData", "MsiPqSel", "MsiPqAddrLow", "MsiPqAddrHigh", "MsiPqData", "MsiPqCmd",
]);
const MSI_REGS = new Set<RegisterName>(["MsiVecNum", "MsiState", "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData"]);
/** The per-queue mode's registers: unknown offsets (badOffset) on a device that does not offer it. */
const MSI_PQ_REGS = new Set<RegisterName>([
  "MsiPqHint", "MsiPqSel", "MsiPqAddrLow", "MsiPqAddrHigh", "MsiPqData", "MsiPqCmd", "MsiPqStatus",
]);

/** Register name by word index (offset / 4) below the config space. */
const REG_BY_WORD: (RegisterName | undefined)[] = new Array(REG.Config / 4).fill(undefined);
for (const [name, off] of Object.entries(REG) as [RegisterName, number][]) {
  if (off < REG.Config) REG_BY_WORD[off / 4] = name;
}

/** The guest errors counted here (the transport's error counters, counted in place). */
export interface RegisterAccessErrors {
  badWidth: number;
  badOffset: number;
  noMsi: number;
}

/** What the window offers: an MSI register exists only with the extension, a per-queue one only with that mode. */
export interface RegisterSet {
  readonly msi: boolean;
  readonly perQueue: boolean;
}

/**
 * The register at `offset` (below the config space) for an access of `width` bytes, or null
 * (counted) when the access is not an aligned 32-bit one or names no register of this window.
 */
export function registerAt(offset: number, width: number, regs: RegisterSet, errors: RegisterAccessErrors): RegisterName | null {
  if (width !== 4 || (offset & 3) !== 0) {
    errors.badWidth++;
    return null;
  }
  const name = REG_BY_WORD[offset >>> 2];
  // Without the per-queue mode its offsets are what they were before it: no register.
  if (name === undefined || (!regs.perQueue && MSI_PQ_REGS.has(name))) {
    errors.badOffset++;
    return null;
  }
  if (!regs.msi && MSI_REGS.has(name)) {
    errors.noMsi++;
    return null;
  }
  return name;
}
