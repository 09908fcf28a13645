// The echo device under the fuzzer: readable bytes come back in the writable buffers.

import { FEATURE } from "../constants.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import type { Prng } from "./prng.ts";
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
  readonly device: EchoDevice;
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

  protected step(rng: Prng): StepResult {
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
    const err = this.kickOne(q, chain, len);
    if (err !== null) return err;
    const got = this.writtenBytes(chain, len);
    for (let i = 0; i < len; i++) if (got[i] !== data[i]) return `echo: byte ${i} came back as ${got[i]}, sent ${data[i]}`;
    return null;
  }
}
