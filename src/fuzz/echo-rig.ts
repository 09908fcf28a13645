// The echo device under the fuzzer: readable bytes come back in the writable buffers.

import { FEATURE } from "../virtio/constants.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import type { Prng } from "../testing/prng.ts";
import { Rig, type Expectation, type MsiLayout, type StepResult } from "./rig.ts";

/** Splits `total` bytes into 1..3 pieces of at least one byte. */
export function split(rng: Prng, total: number): number[] {
  const parts: number[] = [];
  let left = total;
  while (left > 0) {
    const n = parts.length === 2 || rng.chance(0.5) ? left : rng.range(1, left);
    parts.push(n);
    left -= n;
  }
  return parts;
}

export class EchoRig extends Rig {
  device: EchoDevice;
  readonly poppingQueues = [0, 1];
  protected readonly optionalFeatures = FEATURE.EVENT_IDX | FEATURE.INDIRECT_DESC;

  constructor(name: string, msi: MsiLayout) {
    const device = new EchoDevice({ queues: [16, 8] });
    super(name, device, msi);
    this.device = device;
  }

  protected deviceGuestErrors(): number {
    return 0;
  }

  /** The echo device's state is its config space (the driver writes half of it, triggerConfig the rest). */
  protected saveDevice(): unknown {
    return { config: Array.from(this.device.config) };
  }

  protected freshDevice(saved: unknown): { device: VirtioDevice; apply: () => void } {
    const config = (saved as { config?: unknown } | null)?.config;
    if (!Array.isArray(config) || config.length !== 8 || !config.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw new Error("echo state: expected config, 8 bytes");
    }
    const device = new EchoDevice({ queues: this.device.queueMaxSizes });
    return { device, apply: () => device.config.set(config as number[]) };
  }

  protected adoptDevice(device: VirtioDevice): void {
    this.device = device as EchoDevice;
  }

  deviceInternalErrors(): number {
    return 0;
  }

  triggerConfig(): boolean {
    if (this.device.ctx === null) return false;
    this.device.changeConfig(4, this.device.config[4]! + 1);
    return true;
  }

  hostileRequest(): Expectation | null {
    return null;
  }

  /** Only batches on queue 0: a marathon that carries the ring indices past 0xffff. */
  batchOnly = false;
  /** Chains completed on queue 0 since the last init. */
  completions0 = 0;

  protected override beginEpisode(): void {
    this.completions0 = 0;
  }

  /** Queue 0 set up again after a queue reset starts its ring indices at 0. */
  protected override afterQueueReset(q: number): void {
    if (q === 0) this.completions0 = 0;
  }

  protected async step(rng: Prng): Promise<StepResult> {
    if (this.batchOnly || rng.chance(0.1)) return this.#batch(rng);
    if (rng.chance(0.1)) {
      this.triggerConfig();
      this.wantConfig();
      return null;
    }
    const q = rng.int(2);
    const r = rng.range(1, 300);
    const w = rng.range(1, 300);
    const data = rng.bytes(r);
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const n of split(rng, r)) pieces.push(data.subarray(at, (at += n)));
    const chain = this.addChain(q, { readable: pieces, writable: split(rng, w) }, rng.chance(0.5));
    const len = Math.min(r, w);
    const err = await this.kickOne(q, chain, len);
    if (q === 0) this.completions0++;
    if (err !== null) return err;
    const got = this.writtenBytes(chain, len);
    for (let i = 0; i < len; i++) if (got[i] !== data[i]) return `echo: byte ${i} came back as ${got[i]}, sent ${data[i]}`;
    return null;
  }

  /** One chain on `queue`, completed; the interrupt it raises is left to the ledger's invariant. */
  completeOne(queue: number): StepResult {
    const chain = this.addChain(queue, { readable: [Uint8Array.of(0x5a)], writable: [1] }, false);
    this.driver.notify(queue);
    this.driver.runTasks();
    const used = this.takeUsed(queue);
    return used.length === 1 && used[0]!.id === chain.head && used[0]!.len === 1 ? null : `queue ${queue}: used ${JSON.stringify(used)}`;
  }

  /** Several small chains, one notify: all come back, in order, each echoed. */
  #batch(rng: Prng): StepResult {
    const free = this.driver.queues[0]!.free.length;
    const n = rng.range(1, Math.max(1, Math.floor(free / 2)));
    const sent = Array.from({ length: n }, () => {
      const data = rng.bytes(rng.range(1, 16));
      return { data, chain: this.addChain(0, { readable: [data], writable: [data.length] }, false) };
    });
    this.driver.notify(0);
    this.driver.runTasks();
    const used = this.takeUsed(0);
    if (used.length !== n) return `echo batch: ${used.length} of ${n} chains came back`;
    for (let i = 0; i < n; i++) {
      const { data, chain } = sent[i]!;
      if (used[i]!.id !== chain.head || used[i]!.len !== data.length) return `echo batch: used ${JSON.stringify(used[i])} for chain ${chain.head}`;
      const got = this.writtenBytes(chain, data.length);
      if (got.some((b, j) => b !== data[j])) return `echo batch: chain ${i} came back altered`;
    }
    this.completions0 += n;
    this.wantQueue(0);
    return null;
  }
}
