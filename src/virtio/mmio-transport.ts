// One virtio-mmio device window (version 2 layout, 0x200 bytes) with virtio 1.4's QueueReset
// and our MSI extension: the v3 layout by default (docs/virtio-mmio-msi-v3.md), the 2020 layout
// (docs/virtio-mmio-msi.md) when asked. The
// platform calls read()/write() for every guest access; the guest is untrusted, so every
// access is checked, every violation counted, and nothing throws out of read()/write().
// A QueueNotify is processed from a `schedule`d task after the access has returned. Interrupts
// leave at once, wherever they are raised (even inside an access: a command like UNMASK or
// a Data write delivers held events); the platform's one rule decides when the CPU may take them
// (docs/virtio-mmio-msi.md, "When an interrupt reaches the CPU").
//
// The window's parts, each in its own file: the register map (mmio-registers.ts), Status and
// the feature negotiation (device-status.ts), the queue configuration registers
// (queue-config.ts), the MSI registers (msi-registers.ts), how events leave
// (interrupt-delivery.ts) and what is counted (transport-counters.ts). This file dispatches
// accesses to them and owns the device's life: activation at DRIVER_OK, reset, queue reset,
// notifies.

import type { ActivationContext, GuestMemory, InterruptLine, Interrupts, VirtioDevice } from "./interfaces.ts";
import {
  FEATURE, MMIO_MAGIC, MMIO_VENDOR_ID, MMIO_VERSION, MMIO_WINDOW_SIZE, REG, STATUS, type RegisterName,
} from "./constants.ts";
import { DeviceStatus } from "./device-status.ts";
import { CONFIG_CHANGE, EventRecord } from "./event-record.ts";
import { InterruptDelivery } from "./interrupt-delivery.ts";
import { READABLE, WRITABLE, registerAt, type RegisterSet } from "./mmio-registers.ts";
import { MsiPerQueue, type MsiPerQueueState } from "./msi-per-queue.ts";
import { perQueuePersist } from "./msi-per-queue-state.ts";
import { msiTablePersist } from "./msi-table-state.ts";
import type { Persist } from "./persist.ts";
import { MsiRegisters } from "./msi-registers.ts";
import { MsiTable, type MsiTableState } from "./msi-table.ts";
import { QueueConfigRegisters, addr64, queueLayout } from "./queue-config.ts";
import { SplitQueue, type SplitQueueCounters } from "./split-queue.ts";
import { newTransportCounters, type MmioTransportCounters } from "./transport-counters.ts";
import {
  checkTransportState, MAX_STATE_TEXT, TRANSPORT_STATE_KIND, TRANSPORT_STATE_VERSION, type CheckedTransportState,
  type TransportSavedState,
} from "./transport-state.ts";

export type { AccessCounterName, MmioTransportCounters, MmioTransportErrors } from "./transport-counters.ts";

export interface MmioTransportOptions {
  readonly device: VirtioDevice;
  readonly memory: GuestMemory;
  readonly line: InterruptLine;
  /** Runs a function after the current MMIO access has returned (the platform's task queue). */
  readonly schedule: (fn: () => void) => void;
  /**
   * The MSI layout. Absent: the v3 layout (docs/virtio-mmio-msi-v3.md) with its default hint.
   * false: no MSI (the line only). `hint`: MsiVectorHint, 1..1 + queues, default 1 + queues.
   * "2020": the vector table of docs/virtio-mmio-msi.md (MsiVecNum `vectors`, msi_sharing
   * `sharing`; `allowShortFixedTable` for tests only, see MsiTableOptions).
   */
  readonly msi?: MmioMsiOptions;
  /**
   * Offer VIRTIO_F_RING_RESET with QueueReset. Default: true unless msi.layout is "2020" (bit
   * 40 is the 2020 layout's MSI bit there); true with layout "2020" is a configuration error
   * and throws. Needs the device's resetQueue and enableQueue: with a device that lacks them
   * the default is false and an explicit true throws.
   */
  readonly ringReset?: boolean;
}

export type MmioMsiOptions =
  | false
  | { layout: "v3"; hint?: number }
  | { layout: "2020"; vectors: number; sharing: boolean; allowShortFixedTable?: boolean };

export interface MmioQueueState {
  readonly index: number;
  readonly maxSize: number;
  readonly size: number;
  readonly ready: boolean;
  readonly desc: number;
  readonly driver: number;
  readonly device: number;
  /** Present while the device runs (after DRIVER_OK). */
  readonly live: {
    readonly broken: string | null;
    readonly lastAvailIdx: number;
    readonly usedIdx: number;
    readonly counters: SplitQueueCounters;
  } | null;
  /** Reset (QueueReset) after DRIVER_OK and not ready again: the driver may set it up again. */
  readonly reopened: boolean;
}

export interface MmioTransportState {
  readonly device: string;
  readonly deviceId: number;
  readonly status: number;
  readonly offeredFeatures: bigint;
  readonly driverFeatures: bigint;
  /** The driver's features once FEATURES_OK stuck, else 0. */
  readonly negotiatedFeatures: bigint;
  readonly active: boolean;
  /** "msi" while events leave as messages; `msiMode` says how. */
  readonly interruptMode: "line" | "msi";
  /** The MSI mode on: the 2020 vector table, the v3 per-queue targets, or none (the line). */
  readonly msiMode: "table" | "per-queue" | null;
  /** The MSI layout the device offers, or null without MSI. */
  readonly msiLayout: "v3" | "2020" | null;
  /** VIRTIO_F_RING_RESET offered (QueueReset at 0x0c0). */
  readonly ringReset: boolean;
  readonly interruptStatus: number;
  readonly lineHigh: boolean;
  readonly configGeneration: number;
  readonly lastError: string | null;
  readonly queues: readonly MmioQueueState[];
  /** The 2020 layout's vector table, on a device built with it. */
  readonly msi: MsiTableState | null;
  /** The v3 layout's targets (0 = configuration changes, 1 + q = queue q), on a device built with it. */
  readonly msiPerQueue: MsiPerQueueState | null;
}

/** Transport bits a device may not offer itself: we add what we implement. */
const TRANSPORT_OWNED =
  FEATURE.VERSION_1 | FEATURE.RING_PACKED | FEATURE.MMIO_NOTIFICATION | FEATURE.MMIO_MSI | FEATURE.RING_RESET | FEATURE.MMIO_MSI_2020;

export class MmioTransport {
  readonly counters: MmioTransportCounters;
  readonly offeredFeatures: bigint;
  readonly #device: VirtioDevice;
  readonly #memory: GuestMemory;
  readonly #irq: InterruptDelivery;
  readonly #record: EventRecord;
  readonly #schedule: (fn: () => void) => void;
  readonly #msi: MsiTable | null;
  readonly #pq: MsiPerQueue | null;
  readonly #ringReset: boolean;
  readonly #regs: RegisterSet;
  readonly #status: DeviceStatus;
  readonly #queueCfg: QueueConfigRegisters;
  readonly #msiRegs: MsiRegisters;
  readonly #queueCount: number;
  readonly #queues: (SplitQueue | null)[];
  readonly #pendingNotify: Uint8Array;
  #configGeneration = 0;
  #active = false;
  #notifyScheduled = false;
  /** Bumped by every reset: tasks and device handles from before a reset become inert. */
  #epoch = 0;
  #lastError: string | null = null;
  /** The device's Interrupts of the current epoch (a queue enabled after a queue reset uses it too). */
  #interrupts: Interrupts;

  constructor(o: MmioTransportOptions) {
    this.#device = o.device;
    this.#memory = o.memory;
    this.#schedule = o.schedule;
    this.#queueCount = o.device.queueMaxSizes.length;
    this.#record = new EventRecord(this.#queueCount);
    const msi = o.msi === undefined ? { layout: "v3" as const } : o.msi;
    this.#msi = msi && msi.layout === "2020"
      ? new MsiTable({ vectors: msi.vectors, sharing: msi.sharing, allowShortFixedTable: msi.allowShortFixedTable ?? false, queues: this.#queueCount, memory: o.memory, record: this.#record })
      : null;
    this.#pq = msi && msi.layout === "v3"
      ? new MsiPerQueue({ queues: this.#queueCount, pairsHint: msi.hint ?? 1 + this.#queueCount, memory: o.memory, record: this.#record })
      : null;
    // Host configuration errors: fail loudly at construction (docs/virtio-mmio-msi-v3.md, D1).
    if (msi && msi.layout !== "v3" && msi.layout !== "2020") throw new RangeError(`unknown MSI layout ${String((msi as { layout: unknown }).layout)}`);
    const hooks = typeof o.device.resetQueue === "function" && typeof o.device.enableQueue === "function";
    if (o.ringReset === true && this.#msi !== null) throw new RangeError("RING_RESET cannot be offered with the 2020 MSI layout: both are feature bit 40");
    if (o.ringReset === true && !hooks) throw new RangeError(`RING_RESET needs ${o.device.name}'s resetQueue and enableQueue`);
    this.#ringReset = o.ringReset ?? (this.#msi === null && hooks);
    this.#regs = { layout: this.#msi ? "2020" : "v3", msi: this.#msi !== null || this.#pq !== null, ringReset: this.#ringReset };
    this.offeredFeatures =
      (o.device.features & ~TRANSPORT_OWNED) | FEATURE.VERSION_1 |
      (this.#msi ? FEATURE.MMIO_MSI_2020 : 0n) | (this.#pq ? FEATURE.MMIO_MSI : 0n) | (this.#ringReset ? FEATURE.RING_RESET : 0n);
    this.#queues = new Array(this.#queueCount).fill(null);
    this.#pendingNotify = new Uint8Array(this.#queueCount);
    this.counters = newTransportCounters(this.#queueCount);
    this.#status = new DeviceStatus(this.offeredFeatures, this.counters.errors);
    this.#queueCfg = new QueueConfigRegisters(o.device.queueMaxSizes, o.memory, this.counters.errors);
    this.#irq = new InterruptDelivery({
      line: o.line,
      msi: this.#msi,
      perQueue: this.#pq,
      record: this.#record,
      counters: this.counters.interrupts,
      errors: this.counters.errors,
    });
    this.#msiRegs = new MsiRegisters({ msi: this.#msi, perQueue: this.#pq, irq: this.#irq, status: this.#status, errors: this.counters.errors });
    this.#interrupts = this.#makeInterrupts();
  }

  /** The Status register (for tests and counters). */
  get status(): number {
    return this.#status.status;
  }

  /** The InterruptStatus register, read without counting an access. */
  get interruptStatus(): number {
    return this.#irq.interruptStatus;
  }

  /** The 2020 layout's MSI table (for tests and counters), or null. */
  get msi(): MsiTable | null {
    return this.#msi;
  }

  /** Events leave as messages (MSI is on), not on the line. */
  get msiOn(): boolean {
    return this.#irq.msiOn;
  }

  /** The v3 layout's targets (for tests and counters), or null on a device without it. */
  get msiPerQueue(): MsiPerQueue | null {
    return this.#pq;
  }

  /** QueueSel as the driver wrote it (for the fuzzer's ledger: which queue a QueueReset names). */
  get queueSel(): number {
    return this.#queueCfg.selected;
  }

  /** A guest read of `width` bytes at `offset` in the window. Never throws. */
  read(offset: number, width: 1 | 2 | 4): number {
    try {
      if (!Number.isInteger(offset) || offset < 0 || offset >= MMIO_WINDOW_SIZE) {
        this.counters.errors.badOffset++;
        return 0;
      }
      if (offset >= REG.Config) return this.#readConfig(offset - REG.Config, width);
      const name = registerAt(offset, width, this.#regs, this.counters.errors);
      if (name === null) return 0;
      this.counters.reads[name]++;
      if (!READABLE.has(name)) {
        this.counters.errors.readWriteOnly++;
        return 0;
      }
      return this.#readRegister(name) >>> 0;
    } catch {
      this.counters.internalError++;
      return 0;
    }
  }

  /** A guest write of `width` bytes at `offset` in the window. Never throws. */
  write(offset: number, width: 1 | 2 | 4, value: number): void {
    try {
      if (!Number.isInteger(offset) || offset < 0 || offset >= MMIO_WINDOW_SIZE) {
        this.counters.errors.badOffset++;
        return;
      }
      if (offset >= REG.Config) {
        this.#writeConfig(offset - REG.Config, width, value);
        return;
      }
      const name = registerAt(offset, width, this.#regs, this.counters.errors);
      if (name === null) return;
      this.counters.writes[name]++;
      if (!WRITABLE.has(name)) {
        this.counters.errors.writeReadOnly++;
        return;
      }
      this.#writeRegister(name, value >>> 0);
    } catch {
      this.counters.internalError++;
    }
  }

  /** A read-only snapshot for the UI. Allocates: call it per frame, not per access. */
  state(): MmioTransportState {
    const st = this.#status;
    const reopened = this.#queueCfg.reopened;
    return {
      device: this.#device.name,
      deviceId: this.#device.deviceId,
      status: st.status,
      offeredFeatures: this.offeredFeatures,
      driverFeatures: st.driverFeatures,
      negotiatedFeatures: st.negotiatedFeatures,
      active: this.#active,
      interruptMode: this.#irq.msiOn ? "msi" : "line",
      msiMode: this.#irq.mode === "line" ? null : this.#irq.mode,
      msiLayout: this.#msi ? "2020" : this.#pq ? "v3" : null,
      ringReset: this.#ringReset,
      interruptStatus: this.#irq.interruptStatus,
      lineHigh: this.#irq.lineHigh,
      configGeneration: this.#generation(),
      lastError: this.#lastError,
      queues: this.#queueCfg.configs.map((c, index) => {
        const q = this.#queues[index];
        return {
          index,
          maxSize: this.#device.queueMaxSizes[index]!,
          size: c.num,
          ready: c.ready,
          desc: addr64(c.desc),
          driver: addr64(c.driver),
          device: addr64(c.device),
          live: q ? { broken: q.broken, lastAvailIdx: q.lastAvailIdx, usedIdx: q.usedIdx, counters: q.counters } : null,
          reopened: reopened[index]!,
        };
      }),
      msi: this.#msi?.state() ?? null,
      msiPerQueue: this.#pq?.state() ?? null,
    };
  }

  // ---- save and restore (the format and its checks: transport-state.ts) ----

  /**
   * Everything the guest's driver can see or has set, as plain JSON-able data. Take it between
   * two guest accesses, with the device quiet (see the device's own state rule).
   */
  saveState(): TransportSavedState {
    const rec = this.#record;
    const reopened = this.#queueCfg.reopened;
    return {
      kind: TRANSPORT_STATE_KIND,
      version: TRANSPORT_STATE_VERSION,
      deviceId: this.#device.deviceId,
      offeredFeatures: `0x${this.offeredFeatures.toString(16)}`,
      ...this.#status.save(),
      queueSel: this.#queueCfg.selected,
      configGeneration: this.#configGeneration,
      active: this.#active,
      lastError: this.#lastError?.slice(0, MAX_STATE_TEXT) ?? null,
      queues: this.#queueCfg.configs.map((c, i) => {
        const q = this.#queues[i];
        return {
          num: c.num, ready: c.ready, reopened: reopened[i]!, desc: [c.desc[0], c.desc[1]], driver: [c.driver[0], c.driver[1]], device: [c.device[0], c.device[1]],
          live: q
            ? { lastAvailIdx: q.lastAvailIdx, usedIdx: q.usedIdx, signalledIdx: q.signalledIdx, broken: q.broken?.slice(0, MAX_STATE_TEXT) ?? null }
            : null,
        };
      }),
      pendingNotify: this.#notifyScheduled ? [...this.#pendingNotify.keys()].filter((i) => this.#pendingNotify[i]) : [],
      events: { config: rec.has(CONFIG_CHANGE), queues: rec.sources.slice(1).map((e) => rec.has(e)) },
      lineHigh: this.#irq.lineHigh,
      msi: this.#msi && msiTablePersist(this.#msi).save(),
      msiLayout: this.#msi ? "2020" : this.#pq ? "v3" : null,
      msiPerQueue: this.#pq && perQueuePersist(this.#pq).save(),
    };
  }

  /**
   * Checks a saved state against this transport without applying it (restoreState checks
   * again): lets a machine check every device's state before it restores any. Throws a
   * StateError naming the first problem.
   */
  checkState(input: unknown): CheckedTransportState {
    return checkTransportState(input, {
      deviceId: this.#device.deviceId,
      offeredFeatures: this.offeredFeatures,
      queueMaxSizes: this.#device.queueMaxSizes,
      ramSize: this.#memory.size,
      msi: this.#msi
        ? { layout: "2020", vectors: this.#msi.vectorCount, sharing: this.#msi.sharing }
        : this.#pq ? { layout: "v3" } : null,
    });
  }

  /**
   * Puts a saved state (saveState(), possibly through JSON and a file) in place of this
   * transport's. Checks all of it first (checkTransportState): a refused state throws and
   * changes nothing. Then resets the device and activates it again on the saved queues, whose
   * rings are in guest RAM (restored by the emulator before this). Chains the device had taken
   * but not completed are taken again from the ring, and every running queue gets a notify
   * (a spurious one finds nothing new). Pending events stay pending: nothing is sent until the
   * driver's next command or the device's next event, as if the save had never happened.
   */
  restoreState(input: unknown): void {
    this.applyState(this.checkState(input));
  }

  /** The transport's Persist (persist.ts): saveState, checkState, applyState. */
  get persist(): Persist<TransportSavedState, CheckedTransportState> {
    return { save: () => this.saveState(), check: (input) => this.checkState(input), apply: (s) => this.applyState(s) };
  }

  /**
   * Puts a state checkState() returned in place (restoreState's second half): the registers,
   * the MSI layout's state (its own Persist), the mode through InterruptDelivery's transition
   * table, the record and the line; then the device runs again on the saved queues.
   */
  applyState(s: CheckedTransportState): void {
    this.#reset();
    this.#status.restore(s);
    this.#queueCfg.restore(s.queueSel, s.queues);
    this.#configGeneration = s.configGeneration;
    this.#lastError = s.lastError;
    if (s.msi !== null && this.#msi) msiTablePersist(this.#msi).apply(s.msi);
    if (s.msiPerQueue !== null && this.#pq) perQueuePersist(this.#pq).apply(s.msiPerQueue);
    this.#irq.restoreMode(s.mode);
    if (s.events.config) this.#record.add(CONFIG_CHANGE);
    s.events.queues.forEach((on, i) => on && this.#record.add(this.#record.queue(i)!));
    this.#irq.restoreLine();
    if (!(s.status & STATUS.DRIVER_OK)) return;
    // A device that refused DRIVER_OK then refuses it again here (NEEDS_RESET is already set, so
    // the driver hears nothing new); its saved reason stays the one shown.
    this.#activate();
    this.#lastError = s.lastError;
    s.queues.forEach((q, i) => {
      const live = this.#queues[i];
      if (q.live === null || !live) return;
      // Rewound to usedIdx: the chains in flight at the save are taken again (transport-state.ts).
      live.restoreIndices(q.live.usedIdx, q.live.usedIdx, q.live.signalledIdx, q.live.broken);
      if (q.live.broken === null && this.#active) this.#pendingNotify[i] = 1;
    });
    if (this.#active && !this.#notifyScheduled) {
      this.#notifyScheduled = true;
      const epoch = this.#epoch;
      this.#schedule(() => this.#runNotifies(epoch));
    }
  }

  // ---- register access ----

  #readRegister(name: RegisterName): number {
    switch (name) {
      case "MagicValue": return MMIO_MAGIC;
      case "Version": return MMIO_VERSION;
      case "DeviceID": return this.#device.deviceId;
      case "VendorID": return MMIO_VENDOR_ID;
      case "DeviceFeatures": return this.#status.deviceFeaturesRegister;
      case "QueueNumMax": return this.#queueCfg.numMax;
      case "QueueReady": return this.#queueCfg.readyRegister;
      case "InterruptStatus": return this.#irq.interruptStatus;
      case "Status": return this.#status.status;
      case "ConfigGeneration": return this.#generation();
      // No shared memory regions: a length of all ones means "no such region" (virtio 1.2 §4.2.2).
      case "SHMLenLow": case "SHMLenHigh": case "SHMBaseLow": case "SHMBaseHigh": return 0xffffffff;
      // Ours completes at once (docs/virtio-mmio-msi-v3.md, "Queue reset"): never reads 1.
      case "QueueReset": return 0;
      case "MsiVecNum": case "MsiState": case "MsiControl": case "MsiVectorHint":
      case "QueueMsiAddrLow": case "QueueMsiAddrHigh": case "QueueMsiData": case "QueueMsiControl":
      case "ConfigMsiAddrLow": case "ConfigMsiAddrHigh": case "ConfigMsiData": case "ConfigMsiControl":
        return this.#msiRegs.read(name, this.#queueCfg.selected);
      default: return 0; // the reserved words 0x0ec-0x0f8 among them
    }
  }

  #writeRegister(name: RegisterName, value: number): void {
    switch (name) {
      case "DeviceFeaturesSel": return this.#status.selectDeviceFeatures(value);
      case "DriverFeaturesSel": return this.#status.selectDriverFeatures(value);
      case "DriverFeatures": return this.#status.writeDriverFeatures(value);
      case "QueueSel": return this.#queueCfg.select(value);
      case "QueueNum": return this.#queueCfg.writeNum(value, this.#status.status);
      case "QueueReady": return this.#writeReady(value);
      case "QueueReset": return this.#queueReset(value);
      case "QueueDescLow": case "QueueDescHigh": case "QueueDriverLow": case "QueueDriverHigh":
      case "QueueDeviceLow": case "QueueDeviceHigh":
        return this.#queueCfg.writeAddress(name, value, this.#status.status);
      case "QueueNotify": return this.#notify(value);
      case "InterruptACK": return this.#irq.ack(value);
      case "Status": return this.#writeStatus(value);
      case "SHMSel": return;
      case "MsiCmd": case "MsiVecSel": case "MsiAddrLow": case "MsiAddrHigh": case "MsiData": case "MsiControl":
      case "QueueMsiAddrLow": case "QueueMsiAddrHigh": case "QueueMsiData": case "QueueMsiControl":
      case "ConfigMsiAddrLow": case "ConfigMsiAddrHigh": case "ConfigMsiData": case "ConfigMsiControl":
        return this.#msiRegs.write(name, value, this.#queueCfg.selected);
      default: return;
    }
  }

  #readConfig(off: number, width: number): number {
    if (!this.#configAccessOk(off, width)) return 0;
    this.counters.reads.Config++;
    try {
      const v = this.#device.readConfig(off, width as 1 | 2 | 4);
      return width === 4 ? v >>> 0 : v & ((1 << (8 * width)) - 1);
    } catch {
      this.counters.deviceThrew++;
      return 0;
    }
  }

  #writeConfig(off: number, width: number, value: number): void {
    if (!this.#configAccessOk(off, width)) return;
    this.counters.writes.Config++;
    try {
      this.#device.writeConfig(off, width as 1 | 2 | 4, width === 4 ? value >>> 0 : value & ((1 << (8 * width)) - 1));
    } catch {
      this.counters.deviceThrew++;
    }
  }

  #configAccessOk(off: number, width: number): boolean {
    const ok = (width === 1 || width === 2 || width === 4) && off % width === 0 && off + width <= this.#device.configSize;
    if (!ok) this.counters.errors.badConfigAccess++;
    return ok;
  }

  /**
   * ConfigGeneration: moves with every change of the config space, whether the transport sent
   * a config interrupt for it or the device changed a field on its own (before DRIVER_OK, or
   * at the driver's request), so a driver's read of several fields can tell it was torn.
   */
  #generation(): number {
    return (this.#configGeneration + (this.#device.configGeneration ?? 0)) >>> 0;
  }

  // ---- the device's life: activation, reset ----

  #writeStatus(value: number): void {
    const next = this.#status.write(value);
    if (next === "reset") this.#reset();
    else if (next === "activate") this.#activate();
  }

  /** The Interrupts a device gets at activation: inert once the epoch moves on (reset). */
  #makeInterrupts(): Interrupts {
    const epoch = this.#epoch;
    return {
      queue: (index) => {
        const e = this.#record.queue(index);
        if (epoch === this.#epoch && e !== undefined && this.#queues[index]) this.#irq.event(e);
      },
      config: () => {
        if (epoch !== this.#epoch) return;
        this.#configGeneration = (this.#configGeneration + 1) >>> 0;
        this.#irq.event(CONFIG_CHANGE);
      },
    };
  }

  /** The running queue for queue `index`'s registers (at DRIVER_OK, or re-enabled after a queue reset). */
  #buildQueue(index: number): SplitQueue {
    const c = this.#queueCfg.configs[index]!;
    const features = this.#status.driverFeatures;
    const epoch = this.#epoch;
    const interrupts = this.#interrupts;
    const q: SplitQueue = new SplitQueue({
      index, ...queueLayout(c),
      memory: this.#memory,
      eventIdx: (features & FEATURE.EVENT_IDX) !== 0n,
      indirect: (features & FEATURE.INDIRECT_DESC) !== 0n,
      // Only while it is the queue's current ring: a queue reset replaces it (D10).
      interrupt: () => {
        if (this.#queues[index] === q) interrupts.queue(index);
      },
      onBroken: (reason) => {
        if (epoch !== this.#epoch || this.#queues[index] !== q) return;
        this.counters.errors.queueBroken++;
        this.#needsReset(reason);
      },
    });
    this.#queues[index] = q;
    return q;
  }

  #activate(): void {
    const features = this.#status.driverFeatures;
    this.#interrupts = this.#makeInterrupts();
    const live: SplitQueue[] = [];
    this.#queueCfg.configs.forEach((c, index) => {
      if (c.ready) live.push(this.#buildQueue(index));
    });
    // Only a restored state has queues in the middle of a reset at activation.
    const reopened = this.#queueCfg.reopened.flatMap((r, i) => (r ? [i] : []));
    const ctx: ActivationContext = {
      memory: this.#memory, features, queues: live, interrupts: this.#interrupts, ...(reopened.length > 0 ? { reopened } : {}),
    };
    let error: string | null;
    try {
      error = this.#device.activate(ctx);
    } catch (e) {
      this.counters.deviceThrew++;
      error = `activate threw: ${String(e)}`;
    }
    if (error === null) {
      this.#active = true;
      return;
    }
    this.counters.errors.activateFailed++;
    this.#needsReset(`activate: ${error}`);
  }

  // ---- queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset") ----

  /**
   * QueueReset written. Resets the selected queue only when the value is 1, RING_RESET was
   * negotiated and the queue is enabled (QueueReady 1); any other write changes nothing and is
   * counted (badQueueReset; badQueueSel when QueueSel names no queue). The reset is complete
   * when this returns: the device dropped the queue's work (resetQueue), the ring is closed,
   * the registers are at power-on, its notify and undelivered event are gone and its v3 target
   * is at power-on (D10). After DRIVER_OK the queue may then be set up again.
   */
  #queueReset(value: number): void {
    const i = this.#queueCfg.selected;
    const c = this.#queueCfg.configs[i];
    if (c === undefined) {
      this.counters.errors.badQueueSel++;
      return;
    }
    if (value !== 1 || !this.#status.negotiated(FEATURE.RING_RESET) || !c.ready) {
      this.counters.errors.badQueueReset++;
      return;
    }
    this.counters.queueResets++;
    const q = this.#queues[i];
    this.#queues[i] = null;
    if (q) {
      q.close();
      try {
        this.#device.resetQueue?.(i);
      } catch {
        this.counters.deviceThrew++;
      }
    }
    this.#pendingNotify[i] = 0;
    this.#queueCfg.resetQueue(i, (this.#status.status & STATUS.DRIVER_OK) !== 0);
    this.#irq.queueReset(i, this.#record.queue(i)!);
  }

  /**
   * QueueReady written: a reset queue made ready again after DRIVER_OK runs at once. As at
   * DRIVER_OK, its ring is built even when the device refused activation (it then gets no hook).
   */
  #writeReady(value: number): void {
    const i = this.#queueCfg.selected;
    const nowReady = this.#queueCfg.writeReady(value, this.#status.status);
    if (!nowReady || !(this.#status.status & STATUS.DRIVER_OK)) return;
    const q = this.#buildQueue(i);
    if (!this.#active) return;
    try {
      this.#device.enableQueue?.(q);
    } catch {
      this.counters.deviceThrew++;
    }
  }

  /** The device cannot go on: tell the driver (DEVICE_NEEDS_RESET and a config interrupt). */
  #needsReset(reason: string): void {
    this.#lastError = reason;
    if (this.#status.setNeedsReset()) this.#irq.event(CONFIG_CHANGE);
  }

  #reset(): void {
    this.#epoch++;
    for (const q of this.#queues) q?.close();
    this.#queues.fill(null);
    this.#active = false;
    try {
      this.#device.reset();
    } catch {
      this.counters.deviceThrew++;
    }
    this.#status.reset();
    this.#queueCfg.reset();
    this.#pendingNotify.fill(0);
    this.#notifyScheduled = false;
    this.#irq.reset();
  }

  // ---- notifies ----

  #notify(value: number): void {
    if (!this.#active || value >= this.#queueCount || this.#queues[value] == null) {
      this.counters.errors.badNotify++;
      return;
    }
    this.counters.notifies++;
    this.#pendingNotify[value] = 1;
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    const epoch = this.#epoch;
    this.#schedule(() => this.#runNotifies(epoch));
  }

  #runNotifies(epoch: number): void {
    if (epoch !== this.#epoch) return;
    this.#notifyScheduled = false;
    for (let i = 0; i < this.#queueCount; i++) {
      if (!this.#pendingNotify[i]) continue;
      this.#pendingNotify[i] = 0;
      try {
        this.#device.notify(i);
      } catch {
        this.counters.deviceThrew++;
      }
      if (epoch !== this.#epoch) return; // the device's work led to a reset
    }
  }
}
