// Writing chains straight into a live queue's rings, as a hostile driver would, wherever the
// transport says the rings are (hostile register writes may have moved them). A queue is
// "clean" when the outcome of the next chain is certain: the device runs, the queue is not
// broken, nothing else waits in the avail ring, and no two ring areas overlap.

import { FEATURE, RING } from "../virtio/constants.ts";
import type { SplitQueueCounters } from "../virtio/split-queue.ts";
import type { Prng } from "../testing/prng.ts";
import type { Rig } from "./rig.ts";

export interface RawQueue {
  readonly index: number;
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  readonly counters: SplitQueueCounters;
  readonly indirect: boolean;
  /** The outcome of a sound chain published now is certain. */
  readonly clean: boolean;
  /** Ring areas of every live queue of the device, [start, end). */
  readonly rings: readonly (readonly [number, number])[];
}

export interface RawSegment {
  readonly addr: number;
  readonly len: number;
  readonly write: boolean;
}

/** The live queue `index` as the transport sees it, or null when it is not running. */
export function rawQueue(rig: Rig, index: number): RawQueue | null {
  const s = rig.transport.state();
  const q = s.queues[index];
  if (!s.active || q === undefined || q.live === null) return null;
  const rings: [number, number][] = [];
  for (const o of s.queues) {
    if (o.live === null) continue;
    rings.push([o.desc, o.desc + RING.DESC_SIZE * o.size], [o.driver, o.driver + 6 + 2 * o.size], [o.device, o.device + 6 + RING.USED_ELEM_SIZE * o.size]);
  }
  const availIdx = rig.driver.u16(q.driver + 2);
  const clean = q.live.broken === null && availIdx === q.live.lastAvailIdx && rig.popsNow() && !anyOverlap(rings);
  return {
    index, size: q.size, desc: q.desc, avail: q.driver, used: q.device, counters: q.live.counters,
    indirect: (s.negotiatedFeatures & FEATURE.INDIRECT_DESC) !== 0n, clean, rings,
  };
}

function anyOverlap(r: readonly (readonly [number, number])[]): boolean {
  for (let i = 0; i < r.length; i++) {
    for (let j = i + 1; j < r.length; j++) if (r[i]![0] < r[j]![1] && r[j]![0] < r[i]![1]) return true;
  }
  return false;
}

/** A buffer of `len` bytes filled with `fill`, away from every ring (null: RAM has none free). */
export function rawBuffer(rig: Rig, q: RawQueue, len: number, fill?: Uint8Array): number | null {
  const addr = rig.driver.alloc(Math.max(len, 1), 16);
  for (const [s, e] of q.rings) if (addr < e && s < addr + len) return null;
  if (fill) rig.driver.writeBytes(addr, fill.subarray(0, len));
  return addr;
}

/** `n` distinct descriptor indices below `size`. */
export function pickIndices(rng: Prng, size: number, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const i = rng.int(size);
    if (!out.includes(i)) out.push(i);
  }
  return out;
}

/** Writes a sound direct chain of `segs` at random indices; returns its head. Needs segs.length <= size. */
export function writeChain(rig: Rig, rng: Prng, q: RawQueue, segs: readonly RawSegment[]): number {
  const idx = pickIndices(rng, q.size, segs.length);
  segs.forEach((s, i) => {
    const more = i + 1 < segs.length;
    rig.driver.writeDesc(q.desc, idx[i]!, { addr: s.addr, len: s.len, flags: (s.write ? 2 : 0) | (more ? 1 : 0), next: more ? idx[i + 1]! : 0 });
  });
  return idx[0]!;
}

/** Puts `head` in the avail ring and bumps avail idx by `step` (1 for an honest driver). */
export function publish(rig: Rig, q: RawQueue, head: number, step = 1): void {
  const idx = rig.driver.u16(q.avail + 2);
  rig.driver.setU16(q.avail + 4 + 2 * (idx & (q.size - 1)), head);
  rig.driver.setU16(q.avail + 2, (idx + step) & 0xffff);
}

/** Notify the queue and run what the notify scheduled. */
export function kick(rig: Rig, q: RawQueue): void {
  rig.driver.notify(q.index);
  rig.driver.runTasks();
}

/** Buffers for `lens` (negative = device-writable), a chain over them, published and kicked. */
export function sendRaw(
  rig: Rig,
  rng: Prng,
  q: RawQueue,
  parts: readonly (Uint8Array | number)[],
): { ok: boolean; writable: RawSegment[]; head: number | null } {
  const segs: RawSegment[] = [];
  let ok = q.clean && parts.length <= q.size;
  for (const p of parts) {
    const len = typeof p === "number" ? p : p.length;
    const addr = rawBuffer(rig, q, len, typeof p === "number" ? undefined : p);
    if (addr === null) ok = false;
    segs.push({ addr: addr ?? 0, len, write: typeof p === "number" });
  }
  let head: number | null = null;
  if (parts.length <= q.size && segs.every((s) => s.addr !== 0)) {
    head = writeChain(rig, rng, q, segs);
    publish(rig, q, head);
    kick(rig, q);
  } else {
    ok = false;
  }
  return { ok, writable: segs.filter((s) => s.write), head };
}
