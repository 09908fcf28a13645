// A minimal VirtioDevice for transport tests: every chain's readable bytes are copied into its
// writable buffers, then the chain is completed. Config space is 8 bytes of which the first 4
// are writable; `changeConfig` simulates a device-side config change.

import type { ActivationContext, VirtioDevice, Virtqueue, Interrupts } from "../virtio/interfaces.ts";
import { FEATURE } from "../virtio/constants.ts";

export interface EchoDeviceOptions {
  readonly queues?: readonly number[];
  readonly features?: bigint;
  /** Make activate() fail with this message. */
  readonly failActivate?: string;
}

export class EchoDevice implements VirtioDevice {
  readonly name = "echo0";
  readonly deviceId = 0x7f;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = 8;
  readonly counters = { activations: 0, resets: 0, notifies: 0, chains: 0, queueResets: 0 };
  readonly config = new Uint8Array(8);
  ctx: ActivationContext | null = null;
  readonly #failActivate: string | undefined;

  constructor(o: EchoDeviceOptions = {}) {
    this.queueMaxSizes = o.queues ?? [256];
    this.features = o.features ?? (FEATURE.EVENT_IDX | FEATURE.INDIRECT_DESC);
    this.#failActivate = o.failActivate;
  }

  readConfig(offset: number, width: 1 | 2 | 4): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v << 8) | this.config[offset + i]!;
    return v >>> 0;
  }

  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void {
    if (offset + width > 4) return;
    for (let i = 0; i < width; i++) this.config[offset + i] = value >>> (8 * i);
  }

  activate(ctx: ActivationContext): string | null {
    if (this.#failActivate) return this.#failActivate;
    this.ctx = ctx;
    this.#queues.clear();
    for (const q of ctx.queues) this.#queues.set(q.index, q);
    this.counters.activations++;
    return null;
  }

  /** Queues by index: the activation's, replaced or dropped by queue resets. */
  readonly #queues = new Map<number, Virtqueue>();

  queue(index: number): Virtqueue | undefined {
    return this.#queues.get(index);
  }

  resetQueue(index: number): void {
    this.counters.queueResets++;
    this.#queues.delete(index);
  }

  enableQueue(queue: Virtqueue): void {
    if (this.ctx) this.#queues.set(queue.index, queue);
  }

  get interrupts(): Interrupts | undefined {
    return this.ctx?.interrupts;
  }

  notify(index: number): void {
    this.counters.notifies++;
    const q = this.queue(index);
    if (!q) return;
    let any = false;
    for (let c = q.pop(); c !== null; c = q.pop()) {
      const buf = new Uint8Array(Math.min(c.readableLength, c.writableLength));
      q.readFrom(c, 0, buf);
      q.push(c, q.writeTo(c, 0, buf));
      this.counters.chains++;
      any = true;
    }
    if (any) q.signalUsed();
  }

  changeConfig(byte: number, value: number): void {
    this.config[byte] = value;
    this.ctx?.interrupts.config();
  }

  reset(): void {
    this.ctx = null;
    this.#queues.clear();
    this.counters.resets++;
  }
}
