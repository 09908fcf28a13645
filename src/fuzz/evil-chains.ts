// Malformed descriptor chains, one kind per entry, each written straight into a live queue and
// kicked. When the queue is clean the split queue must count exactly that kind (and break,
// except for a zero-length descriptor, which is only noted).

import type { SplitQueueErrorKind } from "../virtio/split-queue.ts";
import type { Prng } from "../testing/prng.ts";
import { kick, pickIndices, publish, rawBuffer, type RawQueue } from "./raw-queue.ts";
import { expectRise, type Expectation, type Rig } from "./rig.ts";

const F_NEXT = 1;
const F_WRITE = 2;
const F_INDIRECT = 4;

type Builder = (rig: Rig, rng: Prng, q: RawQueue) => { head: number; step?: number; kind: SplitQueueErrorKind } | null;

const EVIL: readonly Builder[] = [
  // A cycle of `next` links, from one to four descriptors long.
  (rig, rng, q) => {
    const n = Math.min(q.size, rng.range(1, 4));
    const idx = pickIndices(rng, q.size, n);
    const buf = rawBuffer(rig, q, 16);
    if (buf === null) return null;
    idx.forEach((d, i) => rig.driver.writeDesc(q.desc, d, { addr: buf, len: 16, flags: F_NEXT, next: idx[(i + 1) % n]! }));
    return { head: idx[0]!, kind: "loop" };
  },
  // A buffer that runs past the end of RAM, or lies above 4 GiB, or is 4 GiB long.
  (rig, rng, q) => {
    const [d] = pickIndices(rng, q.size, 1);
    const size = rig.ram.size;
    const shape = rng.int(3);
    const addr = shape === 0 ? size - rng.range(1, 64) : shape === 1 ? rng.int(size) : rng.range(size, 0xffffffff);
    const len = shape === 0 ? rng.range(65, 4096) : shape === 1 ? 0xffffffff - rng.int(size) : rng.range(1, 4096);
    rig.driver.writeDesc(q.desc, d!, { addr, len, flags: rng.chance(0.5) ? F_WRITE : 0, next: 0 });
    return { head: d!, kind: "outOfRange" };
  },
  // A next index beyond the table.
  (rig, rng, q) => {
    const [d] = pickIndices(rng, q.size, 1);
    const buf = rawBuffer(rig, q, 16);
    if (buf === null) return null;
    rig.driver.writeDesc(q.desc, d!, { addr: buf, len: 16, flags: F_NEXT, next: rng.range(q.size, 0xffff) });
    return { head: d!, kind: "nextRange" };
  },
  // A head index beyond the table.
  (_rig, rng, q) => ({ head: rng.range(q.size, 0xffff), kind: "headRange" }),
  // The avail index jumps more than a ring ahead.
  (_rig, rng, q) => ({ head: 0, step: rng.range(q.size + 1, 0xffff), kind: "availIdx" }),
  // A readable buffer after a writable one.
  (rig, rng, q) => {
    if (q.size < 2) return null;
    const [a, b] = pickIndices(rng, q.size, 2);
    const buf = rawBuffer(rig, q, 32);
    if (buf === null) return null;
    rig.driver.writeDesc(q.desc, a!, { addr: buf, len: 16, flags: F_WRITE | F_NEXT, next: b! });
    rig.driver.writeDesc(q.desc, b!, { addr: buf + 16, len: 16, flags: 0, next: 0 });
    return { head: a!, kind: "order" };
  },
  // Indirect tables: nested, of a bad length, combined with NEXT, or not negotiated at all.
  (rig, rng, q) => {
    const [d] = pickIndices(rng, q.size, 1);
    const entries = rng.range(1, 4);
    const table = rawBuffer(rig, q, 16 * entries + 16);
    if (table === null) return null;
    const shape = rng.int(3);
    for (let i = 0; i < entries; i++) {
      const last = i + 1 === entries;
      // The nested shape puts an indirect descriptor (pointing at the table itself) last.
      const flags = last && shape === 0 ? F_INDIRECT : last ? 0 : F_NEXT;
      rig.driver.writeDesc(table, i, { addr: table, len: 16, flags, next: last ? 0 : i + 1 });
    }
    const len = shape === 1 ? 16 * entries + rng.range(1, 15) : 16 * entries;
    const flags = F_INDIRECT | (shape === 2 ? F_NEXT : 0);
    rig.driver.writeDesc(q.desc, d!, { addr: table, len, flags, next: 0 });
    const kind: SplitQueueErrorKind = !q.indirect ? "indirectNotNegotiated" : shape === 0 ? "nestedIndirect" : shape === 1 ? "indirectLen" : "indirectWithNext";
    return { head: d!, kind };
  },
  // A zero-length descriptor: legal but noted.
  (rig, rng, q) => {
    const [d] = pickIndices(rng, q.size, 1);
    const buf = rawBuffer(rig, q, 16);
    if (buf === null) return null;
    rig.driver.writeDesc(q.desc, d!, { addr: buf, len: 0, flags: F_WRITE, next: 0 });
    return { head: d!, kind: "zeroLength" };
  },
];

/** One malformed chain on `q`; the expectations hold when the queue was clean. */
export function sendEvilChain(rig: Rig, rng: Prng, q: RawQueue): Expectation[] {
  const built = rng.pick(EVIL)(rig, rng, q);
  if (built === null) return [];
  const errors = q.counters.errors;
  const out = [expectRise(`queue.${built.kind}`, () => errors[built.kind])];
  if (built.kind !== "zeroLength") {
    const e = rig.transport.counters.errors;
    out.push(expectRise("transport.queueBroken", () => e.queueBroken));
  }
  publish(rig, q, built.head, built.step ?? 1);
  kick(rig, q);
  return q.clean ? out : [];
}
