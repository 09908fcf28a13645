// The MSI extension's registers in a virtio-mmio window (docs/virtio-mmio-msi.md): the vector
// table's (MsiVecNum, MsiState, MsiCmd, MsiVecSel, MsiAddrLow/High, MsiData) and the per-queue
// mode's (MsiPqHint, MsiPqSel, MsiPqAddrLow/High, MsiPqData, MsiPqCmd, MsiPqStatus). Staging
// and selection go to the table or the per-queue targets; commands go to InterruptDelivery,
// which owns the switch between the line and the two modes. The one rule kept here: either
// mode is enabled only once the driver negotiated VIRTIO_F_MMIO_MSI.

import { FEATURE, MSI_CMD, MSI_STATE, type RegisterName } from "./constants.ts";
import type { DeviceStatus } from "./device-status.ts";
import type { InterruptDelivery } from "./interrupt-delivery.ts";
import type { MsiPerQueue } from "./msi-per-queue.ts";
import type { MsiTable } from "./msi-table.ts";

export interface MsiRegistersOptions {
  /** Null on a classic device (the transport refuses its registers before they get here). */
  readonly msi: MsiTable | null;
  /** Null on a device that does not offer the per-queue mode. */
  readonly perQueue: MsiPerQueue | null;
  readonly irq: InterruptDelivery;
  /** Whether the driver negotiated VIRTIO_F_MMIO_MSI. */
  readonly status: DeviceStatus;
  readonly errors: { msiWithoutFeature: number };
}

export class MsiRegisters {
  readonly #msi: MsiTable | null;
  readonly #pq: MsiPerQueue | null;
  readonly #irq: InterruptDelivery;
  readonly #status: DeviceStatus;
  readonly #errors: { msiWithoutFeature: number };

  constructor(o: MsiRegistersOptions) {
    this.#msi = o.msi;
    this.#pq = o.perQueue;
    this.#irq = o.irq;
    this.#status = o.status;
    this.#errors = o.errors;
  }

  /** A readable MSI register's value; 0 for any other name. */
  read(name: RegisterName): number {
    switch (name) {
      case "MsiVecNum": return this.#msi?.vectorCount ?? 0;
      case "MsiState": return this.#state();
      case "MsiPqHint": return this.#pq?.pairsHint ?? 0;
      case "MsiPqStatus": return this.#pq?.statusRegister ?? 0;
      default: return 0;
    }
  }

  /** A write to an MSI register (any other name does nothing). `queueSel`: the queue the table's map commands act on. */
  write(name: RegisterName, value: number, queueSel: number): void {
    switch (name) {
      case "MsiCmd": return this.#command(value, queueSel);
      case "MsiVecSel": this.#msi?.selectVector(value); return;
      case "MsiAddrLow": this.#msi?.stage("addrLow", value); return;
      case "MsiAddrHigh": this.#msi?.stage("addrHigh", value); return;
      case "MsiData": this.#msi?.stage("data", value); return;
      case "MsiPqSel": this.#pq?.select(value); return;
      case "MsiPqAddrLow": this.#pq?.stage("addrLow", value); return;
      case "MsiPqAddrHigh": this.#pq?.stage("addrHigh", value); return;
      case "MsiPqData": this.#pq?.stage("data", value); return;
      case "MsiPqCmd": return this.#irq.perQueueCommand(value);
      default: return;
    }
  }

  /** MsiState: the table's bits, and msi_enabled with per_queue while the per-queue mode is on. */
  #state(): number {
    const pq = this.#pq?.enabled ? MSI_STATE.ENABLED | MSI_STATE.PER_QUEUE : 0;
    return ((this.#msi?.stateRegister ?? 0) | pq) >>> 0;
  }

  #command(cmd: number, queueSel: number): void {
    // Either mode's enable needs the feature; 8 on a device without the per-queue mode is an
    // unknown command, which the table counts.
    if (cmd === MSI_CMD.ENABLE || (cmd === MSI_CMD.ENABLE_PER_QUEUE && this.#pq !== null)) {
      if (!this.#status.negotiated(FEATURE.MMIO_MSI)) {
        this.#errors.msiWithoutFeature++;
        return;
      }
    }
    this.#irq.msiCommand(cmd, queueSel);
  }
}
