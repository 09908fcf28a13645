// The queue configuration registers of a virtio-mmio window: QueueSel picks a queue, QueueNum,
// the three ring addresses (QueueDesc/Driver/Device, low and high words) and QueueReady set it
// up. What the driver writes here is only a plan: the transport builds a SplitQueue from it at
// DRIVER_OK. The rules (virtio 1.2 §4.2.3.2): the registers may be written only between
// FEATURES_OK and DRIVER_OK, and not while the queue is ready; QueueNum is a power of two no
// larger than QueueNumMax; QueueReady = 1 checks the layout (size, alignment, inside guest RAM)
// and refuses a bad one. Every refusal is counted, none throws. One exception to the first
// rule (virtio 1.4 §2.6.1, with VIRTIO_F_RING_RESET): a queue reset after DRIVER_OK may be set
// up again, and its registers stay writable until its QueueReady is 1 again
// (docs/virtio-mmio-msi-v3.md, "Queue reset").

import type { GuestMemory } from "./interfaces.ts";
import { STATUS } from "./constants.ts";
import type { Refusal } from "./device-status.ts";
import { checkLayout, type SplitQueueLayout } from "./split-queue.ts";
import type { SavedQueue } from "./transport-state.ts";

/** One queue's registers as the driver wrote them; addresses as [low, high] words. */
export interface QueueConfig {
  num: number;
  ready: boolean;
  desc: [number, number];
  driver: [number, number];
  device: [number, number];
}

/** The guest errors counted here (the transport's error counters, counted in place). */
export interface QueueConfigErrors {
  badQueueSel: number;
  queueLocked: number;
  badQueueNum: number;
  queueSize: number;
  ringAlign: number;
  ringOutOfRange: number;
}

export type QueueAddressRegister =
  "QueueDescLow" | "QueueDescHigh" | "QueueDriverLow" | "QueueDriverHigh" | "QueueDeviceLow" | "QueueDeviceHigh";

export function addr64(pair: readonly [number, number]): number {
  return pair[0] + pair[1] * 0x1_0000_0000;
}

/** A queue's size and ring addresses, as the registers hold them or a saved state carries them. */
export interface QueueRegisters {
  readonly num: number;
  readonly desc: readonly [number, number];
  readonly driver: readonly [number, number];
  readonly device: readonly [number, number];
}

/** The ring layout a queue's registers describe (QueueReady and a restore check the same one). */
export function queueLayout(c: QueueRegisters): SplitQueueLayout {
  return { size: c.num, desc: addr64(c.desc), avail: addr64(c.driver), used: addr64(c.device) };
}

/**
 * The QueueNum rule (virtio 1.2 §4.2.3.2): a power of two in [1, QueueNumMax]. Null when
 * `value` may be written, else why not, under the counter the register path counts. The one
 * copy of the rule: writeNum() counts it, a saved state's check (transport-state.ts) refuses
 * with it.
 */
export function queueNumRefusal(value: number, max: number): Refusal<"badQueueNum"> | null {
  if (value !== 0 && value <= max && (value & (value - 1)) === 0) return null;
  return { counter: "badQueueNum", why: `${value} is not a power of two in [1, ${max}]` };
}

function freshQueueConfig(max: number): QueueConfig {
  return { num: max, ready: false, desc: [0, 0], driver: [0, 0], device: [0, 0] };
}

export class QueueConfigRegisters {
  readonly #maxSizes: readonly number[];
  readonly #memory: GuestMemory;
  readonly #errors: QueueConfigErrors;
  readonly #cfg: QueueConfig[];
  /** 1 for a queue reset since DRIVER_OK and not ready again: its registers are writable. */
  readonly #reopened: Uint8Array;
  #sel = 0;

  constructor(maxSizes: readonly number[], memory: GuestMemory, errors: QueueConfigErrors) {
    this.#maxSizes = maxSizes;
    this.#memory = memory;
    this.#errors = errors;
    this.#cfg = maxSizes.map(freshQueueConfig);
    this.#reopened = new Uint8Array(maxSizes.length);
  }

  /** Per queue: reset since DRIVER_OK and not ready again (saved with the transport's state). */
  get reopened(): readonly boolean[] {
    return [...this.#reopened].map((v) => v === 1);
  }

  /**
   * Queue i back to its power-on registers (QueueReady 0, QueueNum at its maximum, addresses
   * 0). `reopen` (a reset after DRIVER_OK): writable again until its QueueReady is 1.
   */
  resetQueue(i: number, reopen: boolean): void {
    if (this.#cfg[i] === undefined) return;
    this.#cfg[i] = freshQueueConfig(this.#maxSizes[i]!);
    this.#reopened[i] = reopen ? 1 : 0;
  }

  /** QueueSel as written (it may name no queue: the next access counts that). */
  get selected(): number {
    return this.#sel;
  }

  /** Every queue's registers, by index. The transport reads them; only this class writes them. */
  get configs(): readonly Readonly<QueueConfig>[] {
    return this.#cfg;
  }

  select(value: number): void {
    this.#sel = value;
  }

  /** QueueNumMax of the selected queue, 0 for none. */
  get numMax(): number {
    return this.#maxSizes[this.#sel] ?? 0;
  }

  /** QueueReady of the selected queue, 0 for none. */
  get readyRegister(): number {
    return this.#cfg[this.#sel]?.ready ? 1 : 0;
  }

  writeNum(value: number, status: number): void {
    const c = this.#writable(status);
    if (c === null) return;
    if (c.ready) {
      this.#errors.queueLocked++;
      return;
    }
    const refused = queueNumRefusal(value, this.#maxSizes[this.#sel]!);
    if (refused !== null) {
      this.#errors[refused.counter]++;
      return;
    }
    c.num = value;
  }

  writeAddress(name: QueueAddressRegister, value: number, status: number): void {
    const c = this.#writable(status);
    if (c === null) return;
    if (c.ready) {
      this.#errors.queueLocked++;
      return;
    }
    const pair = name.startsWith("QueueDesc") ? c.desc : name.startsWith("QueueDriver") ? c.driver : c.device;
    pair[name.endsWith("Low") ? 0 : 1] = value;
  }

  /** True when this write made the selected queue ready. */
  writeReady(value: number, status: number): boolean {
    // Linux writes 0 to an idle queue while tearing down after a reset: harmless, not an error.
    if (value === 0 && !this.#cfg[this.#sel]?.ready) return false;
    const c = this.#writable(status);
    if (c === null) return false;
    if (value === 0) {
      c.ready = false;
      return false;
    }
    const why = checkLayout(queueLayout(c), this.#maxSizes[this.#sel]!, this.#memory.size);
    if (why !== null) {
      this.#errors[why]++;
      return false;
    }
    c.ready = true;
    this.#reopened[this.#sel] = 0;
    return true;
  }

  /** Back to the state after construction (device reset). */
  reset(): void {
    this.#sel = 0;
    this.#cfg.forEach((_, i) => (this.#cfg[i] = freshQueueConfig(this.#maxSizes[i]!)));
    this.#reopened.fill(0);
  }

  /** Puts saved registers in place; the caller checked them (transport-state.ts). */
  restore(queueSel: number, queues: readonly SavedQueue[]): void {
    this.#sel = queueSel;
    queues.forEach((q, i) => {
      this.#cfg[i] = { num: q.num, ready: q.ready, desc: [...q.desc], driver: [...q.driver], device: [...q.device] };
      this.#reopened[i] = q.reopened ? 1 : 0;
    });
  }

  /** The selected queue's registers if they may be written now, else null (counted). */
  #writable(status: number): QueueConfig | null {
    const c = this.#cfg[this.#sel];
    if (c === undefined) {
      this.#errors.badQueueSel++;
      return null;
    }
    const setup = (status & STATUS.FEATURES_OK) !== 0 && (status & STATUS.DRIVER_OK) === 0;
    const reopened = this.#reopened[this.#sel] === 1 && (status & STATUS.DRIVER_OK) !== 0;
    if (!setup && !reopened) {
      this.#errors.queueLocked++;
      return null;
    }
    return c;
  }
}

