// The MSI registers of a virtio-mmio window, in whichever layout the device was built with:
// the v3 layout's (docs/virtio-mmio-msi-v3.md, "Registers": QueueMsi* of the queue QueueSel
// selects, ConfigMsi*, MsiControl, MsiVectorHint, reserved words) or the 2020 layout's vector
// table (docs/virtio-mmio-msi.md: MsiVecNum, MsiState, MsiCmd, MsiVecSel, MsiAddrLow/High,
// MsiData). Register values go to the targets or the table; the switch between the line and
// messages goes to InterruptDelivery. The rule kept here: MSI is enabled only once the driver
// negotiated the layout's feature bit (D3).

import { msiFeatureRefusal } from "./interrupt-mode.ts";
import { FEATURE, MSI_CMD, MSI_CONTROL, type RegisterName } from "./constants.ts";
import type { DeviceStatus } from "./device-status.ts";
import type { InterruptDelivery } from "./interrupt-delivery.ts";
import { CONFIG_TARGET, type MsiPerQueue } from "./msi-per-queue.ts";
import type { MsiTable } from "./msi-table.ts";

export interface MsiRegistersOptions {
  /** The 2020 layout's table, or null. */
  readonly msi: MsiTable | null;
  /** The v3 layout's targets, or null. */
  readonly perQueue: MsiPerQueue | null;
  readonly irq: InterruptDelivery;
  /** Whether the driver negotiated the layout's feature. */
  readonly status: DeviceStatus;
  readonly errors: { msiWithoutFeature: number; badQueueSel: number; badMsiControl: number };
}

export class MsiRegisters {
  readonly #msi: MsiTable | null;
  readonly #pq: MsiPerQueue | null;
  readonly #irq: InterruptDelivery;
  readonly #status: DeviceStatus;
  readonly #errors: MsiRegistersOptions["errors"];

  constructor(o: MsiRegistersOptions) {
    this.#msi = o.msi;
    this.#pq = o.perQueue;
    this.#irq = o.irq;
    this.#status = o.status;
    this.#errors = o.errors;
  }

  /** A readable MSI register's value; 0 for any other name (the reserved words among them). */
  read(name: RegisterName, queueSel: number): number {
    const pq = this.#pq;
    switch (name) {
      case "MsiVecNum": return this.#msi?.vectorCount ?? 0;
      case "MsiState": return this.#msi?.stateRegister ?? 0;
      case "MsiControl": return pq?.enabled ? MSI_CONTROL.MSI_ENABLE : 0;
      case "MsiVectorHint": return pq?.pairsHint ?? 0;
      case "ConfigMsiAddrLow": return pq?.readAddrLow(CONFIG_TARGET) ?? 0;
      case "ConfigMsiAddrHigh": return pq?.readAddrHigh(CONFIG_TARGET) ?? 0;
      case "ConfigMsiData": return pq?.readData(CONFIG_TARGET) ?? 0;
      case "ConfigMsiControl": return pq?.readControl(CONFIG_TARGET) ?? 0;
      // QueueSel naming no queue: the queue's registers read 0 ("Registers").
      case "QueueMsiAddrLow": return pq?.readAddrLow(pq.queueTarget(queueSel)) ?? 0;
      case "QueueMsiAddrHigh": return pq?.readAddrHigh(pq.queueTarget(queueSel)) ?? 0;
      case "QueueMsiData": return pq?.readData(pq.queueTarget(queueSel)) ?? 0;
      case "QueueMsiControl": return pq?.readControl(pq.queueTarget(queueSel)) ?? 0;
      default: return 0;
    }
  }

  /** A write to an MSI register (any other name does nothing). `queueSel`: QueueSel as written. */
  write(name: RegisterName, value: number, queueSel: number): void {
    switch (name) {
      case "MsiCmd": return this.#command(value, queueSel);
      case "MsiVecSel": this.#msi?.selectVector(value); return;
      case "MsiAddrLow": this.#msi?.stage("addrLow", value); return;
      case "MsiAddrHigh": this.#msi?.stage("addrHigh", value); return;
      case "MsiData": this.#msi?.stage("data", value); return;
      case "MsiControl": return this.#msiControl(value);
      case "ConfigMsiAddrLow": case "ConfigMsiAddrHigh": case "ConfigMsiData": case "ConfigMsiControl":
        return this.#target(name, CONFIG_TARGET, value);
      case "QueueMsiAddrLow": case "QueueMsiAddrHigh": case "QueueMsiData": case "QueueMsiControl": {
        const t = this.#pq?.queueTarget(queueSel) ?? -1;
        if (t < 0) {
          this.#errors.badQueueSel++;
          return;
        }
        return this.#target(name, t, value);
      }
      default: return;
    }
  }

  #target(name: RegisterName, t: number, value: number): void {
    const pq = this.#pq;
    if (pq === null) return;
    if (name.endsWith("AddrLow")) pq.writeAddrLow(t, value);
    else if (name.endsWith("AddrHigh")) pq.writeAddrHigh(t, value);
    else {
      if (name.endsWith("Data")) pq.writeData(t, value);
      else pq.writeControl(t, value);
      this.#irq.targetsChanged();
    }
  }

  /**
   * MsiControl: bit 0 MSI_ENABLE, every other bit reserved. A value with a reserved bit set
   * changes nothing (counted, D11). Setting MSI_ENABLE needs the negotiated feature (D3);
   * clearing it is always accepted.
   */
  #msiControl(value: number): void {
    if ((value & ~MSI_CONTROL.MSI_ENABLE) !== 0) {
      this.#errors.badMsiControl++;
      return;
    }
    const on = (value & MSI_CONTROL.MSI_ENABLE) !== 0;
    const refused = msiFeatureRefusal(on ? "per-queue" : "line", this.#status.negotiated(FEATURE.MMIO_MSI));
    if (refused !== null) {
      this.#errors[refused.counter]++;
      return;
    }
    this.#irq.setMsiEnable(on);
  }

  #command(cmd: number, queueSel: number): void {
    const refused = cmd === MSI_CMD.ENABLE ? msiFeatureRefusal("table", this.#status.negotiated(FEATURE.MMIO_MSI_2020)) : null;
    if (refused !== null) {
      this.#errors[refused.counter]++;
      return;
    }
    this.#irq.msiCommand(cmd, queueSel);
  }
}
