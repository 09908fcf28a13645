import { describe, expect, it } from "vitest";
import { RamMemory } from "./ram-memory.ts";
import { SplitQueue, checkLayout, type SplitQueueErrorKind } from "./split-queue.ts";
import { VIRTQ_DESC_F } from "./constants.ts";

const { NEXT, WRITE, INDIRECT } = VIRTQ_DESC_F;
const GUARD = 0x100;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;

/** A driver's view of one queue, written by hand so each test says exactly what the guest did. */
const RAM = 0x10000;
class Rig {
  readonly backing: Uint8Array;
  readonly ram: Uint8Array;
  readonly dv: DataView;
  readonly memory: RamMemory;
  readonly broken: string[] = [];
  interrupts = 0;
  availIdx = 0;
  readonly q: SplitQueue;

  constructor(readonly size = 8, o: { eventIdx?: boolean; indirect?: boolean; ram?: number } = {}) {
    const ram = o.ram ?? RAM;
    this.backing = new Uint8Array(ram + GUARD);
    this.ram = this.backing.subarray(0, ram);
    this.dv = new DataView(this.ram.buffer, 0, ram);
    this.memory = new RamMemory(this.ram);
    this.q = new SplitQueue({
      index: 0, size, desc: DESC, avail: AVAIL, used: USED, memory: this.memory,
      eventIdx: o.eventIdx ?? false, indirect: o.indirect ?? true,
      interrupt: () => this.interrupts++,
      onBroken: (r) => this.broken.push(r),
    });
  }

  desc(i: number, addr: number, len: number, flags = 0, next = 0, table = DESC, addrHigh = 0): void {
    const b = table + 16 * i;
    this.dv.setUint32(b, addr, true);
    this.dv.setUint32(b + 4, addrHigh, true);
    this.dv.setUint32(b + 8, len, true);
    this.dv.setUint16(b + 12, flags, true);
    this.dv.setUint16(b + 14, next, true);
  }

  publish(head: number): void {
    this.dv.setUint16(AVAIL + 4 + 2 * (this.availIdx % this.size), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.dv.setUint16(AVAIL + 2, this.availIdx, true);
  }

  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.dv.setUint16(AVAIL + 2, this.availIdx, true);
  }

  usedIdx(): number {
    return this.dv.getUint16(USED + 2, true);
  }

  usedElem(i: number): [number, number] {
    const e = USED + 4 + 8 * (i % this.size);
    return [this.dv.getUint32(e, true), this.dv.getUint32(e + 4, true)];
  }

  setUsedEvent(v: number): void {
    this.dv.setUint16(AVAIL + 4 + 2 * this.size, v, true);
  }

  availEvent(): number {
    return this.dv.getUint16(USED + 4 + 8 * this.size, true);
  }

  guardUntouched(): boolean {
    return this.backing.subarray(this.ram.length).every((b) => b === 0);
  }
}

describe("checkLayout", () => {
  const ok = { size: 8, desc: DESC, avail: AVAIL, used: USED };
  it.each([
    [ok, null],
    [{ ...ok, size: 0 }, "queueSize"],
    [{ ...ok, size: 6 }, "queueSize"],
    [{ ...ok, size: 512 }, "queueSize"],
    [{ ...ok, desc: DESC + 8 }, "ringAlign"],
    [{ ...ok, avail: AVAIL + 1 }, "ringAlign"],
    [{ ...ok, used: USED + 2 }, "ringAlign"],
    [{ ...ok, desc: RAM - 64 }, "ringOutOfRange"],
    [{ ...ok, avail: RAM - 20 }, "ringOutOfRange"],
    [{ ...ok, used: RAM - 64 }, "ringOutOfRange"],
    [{ ...ok, used: 2 ** 32 + USED }, "ringOutOfRange"],
  ])("%o -> %s", (layout, want) => expect(checkLayout(layout, 256, RAM)).toBe(want));
});

describe("SplitQueue: chains", () => {
  it("pops a direct chain with readable then writable segments", () => {
    const r = new Rig();
    r.desc(3, 0x8000, 16, NEXT, 5);
    r.desc(5, 0x8100, 512, NEXT | WRITE, 6);
    r.desc(6, 0x8400, 1, WRITE);
    r.publish(3);
    const c = r.q.pop()!;
    expect(c.head).toBe(3);
    expect(c.readable).toEqual([{ addr: 0x8000, len: 16 }]);
    expect(c.writable).toEqual([{ addr: 0x8100, len: 512 }, { addr: 0x8400, len: 1 }]);
    expect([c.readableLength, c.writableLength]).toEqual([16, 513]);
    expect(r.q.pop()).toBeNull();
    expect(r.q.counters.popped).toBe(1);
  });

  it("pops an indirect chain", () => {
    const r = new Rig();
    const table = 0x6000;
    r.desc(0, 0x8000, 16, NEXT, 1, table);
    r.desc(1, 0x8100, 4096, NEXT | WRITE, 2, table);
    r.desc(2, 0x9100, 1, WRITE, 0, table);
    r.desc(0, table, 48, INDIRECT);
    r.publish(0);
    const c = r.q.pop()!;
    expect(c.readable).toEqual([{ addr: 0x8000, len: 16 }]);
    expect(c.writable.map((s) => s.len)).toEqual([4096, 1]);
  });

  it("accepts direct descriptors followed by an indirect tail", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 8, 0, 0, 0x6000);
    r.desc(0, 0x7000, 8, NEXT, 1);
    r.desc(1, 0x6000, 16, INDIRECT);
    r.publish(0);
    const c = r.q.pop()!;
    expect(c.readable).toEqual([{ addr: 0x7000, len: 8 }, { addr: 0x8000, len: 8 }]);
  });

  it("skips zero-length descriptors but counts them", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 0, NEXT, 1);
    r.desc(1, 0x8000, 4, WRITE);
    r.publish(0);
    const c = r.q.pop()!;
    expect(c.readable).toEqual([]);
    expect(c.writable).toEqual([{ addr: 0x8000, len: 4 }]);
    expect(r.q.counters.errors.zeroLength).toBe(1);
    expect(r.q.broken).toBeNull();
  });

  it("handles avail and used idx wraparound at 2^16", () => {
    const r = new Rig(4);
    r.desc(0, 0x8000, 4, WRITE);
    // Both sides start just below the wrap: driver and device agree on 0xfffe.
    for (let i = 0; i < 0xfffe; i++) {
      r.publish(0);
      r.q.push(r.q.pop()!, 4);
    }
    for (let i = 0; i < 4; i++) {
      r.publish(0);
      const c = r.q.pop()!;
      r.q.push(c, 3);
    }
    expect(r.availIdx).toBe(2);
    expect(r.usedIdx()).toBe(2);
    expect(r.q.lastAvailIdx).toBe(2);
    expect(r.usedElem(1)).toEqual([0, 3]);
    expect(r.q.broken).toBeNull();
  });
});

describe("SplitQueue: hostile chains", () => {
  type Setup = (r: Rig) => void;
  const cases: [string, SplitQueueErrorKind, Setup, { indirect?: boolean; ram?: number }?][] = [
    ["descriptor loop", "loop", (r) => { r.desc(0, 0x8000, 4, NEXT, 1); r.desc(1, 0x8000, 4, NEXT, 0); r.publish(0); }],
    ["self loop", "loop", (r) => { r.desc(2, 0x8000, 4, NEXT, 2); r.publish(2); }],
    ["loop in an indirect table", "loop", (r) => {
      r.desc(0, 0x8000, 4, NEXT, 1, 0x6000); r.desc(1, 0x8000, 4, NEXT, 0, 0x6000);
      r.desc(0, 0x6000, 32, INDIRECT); r.publish(0);
    }],
    ["segment past the end of RAM", "outOfRange", (r) => { r.desc(0, RAM - 4, 8, WRITE); r.publish(0); }],
    ["segment far outside RAM", "outOfRange", (r) => { r.desc(0, 0xfee00000, 4, WRITE); r.publish(0); }],
    ["oversize descriptor (4 GiB - 1)", "outOfRange", (r) => { r.desc(0, 0, 0xffffffff, WRITE); r.publish(0); }],
    ["segment above 4 GiB", "outOfRange", (r) => { r.desc(0, 0x8000, 4, WRITE, 0, DESC, 1); r.publish(0); }],
    ["indirect table outside RAM", "outOfRange", (r) => { r.desc(0, RAM - 16, 32, INDIRECT); r.publish(0); }],
    ["head >= size", "headRange", (r) => r.publish(8)],
    ["next >= size", "nextRange", (r) => { r.desc(0, 0x8000, 4, NEXT, 9); r.publish(0); }],
    ["next >= indirect table length", "nextRange", (r) => {
      r.desc(0, 0x8000, 4, NEXT, 2, 0x6000); r.desc(0, 0x6000, 32, INDIRECT); r.publish(0);
    }],
    ["avail idx jumps more than size", "availIdx", (r) => r.setAvailIdx(9)],
    ["avail idx goes backwards", "availIdx", (r) => r.setAvailIdx(0xffff)],
    ["nested indirect table", "nestedIndirect", (r) => {
      r.desc(0, 0x6100, 16, INDIRECT, 0, 0x6000); r.desc(0, 0x6000, 16, INDIRECT); r.publish(0);
    }],
    ["indirect not negotiated", "indirectNotNegotiated", (r) => { r.desc(0, 0x6000, 16, INDIRECT); r.publish(0); }, { indirect: false }],
    ["indirect len not a multiple of 16", "indirectLen", (r) => { r.desc(0, 0x6000, 24, INDIRECT); r.publish(0); }],
    ["indirect len 0", "indirectLen", (r) => { r.desc(0, 0x6000, 0, INDIRECT); r.publish(0); }],
    ["indirect with NEXT", "indirectWithNext", (r) => { r.desc(0, 0x6000, 16, INDIRECT | NEXT, 1); r.publish(0); }],
    ["readable after writable", "order", (r) => { r.desc(0, 0x8000, 4, WRITE | NEXT, 1); r.desc(1, 0x8000, 4); r.publish(0); }],
    ["total length over 4 GiB", "tooLong", (r) => {
      // An indirect table of 4097 entries, each naming all 1 MiB of RAM: over 2^32 bytes.
      const n = 4097;
      for (let i = 0; i < n; i++) r.desc(i, 0, 1 << 20, i + 1 < n ? NEXT : 0, i + 1, 0x10000);
      r.desc(0, 0x10000, 16 * n, INDIRECT); r.publish(0);
    }, { ram: 1 << 20 }],
  ];

  it.each(cases)("%s -> errors.%s, broken, onBroken once", (_name, kind, setup, opts) => {
    const r = new Rig(8, opts);
    setup(r);
    expect(r.q.pop()).toBeNull();
    expect(r.q.counters.errors[kind]).toBe(1);
    expect(r.q.broken).toContain(kind);
    expect(r.broken).toHaveLength(1);
    // Once broken, the queue stays quiet and does not report again.
    r.desc(0, 0x8000, 4, WRITE);
    r.publish(0);
    expect(r.q.pop()).toBeNull();
    expect(r.broken).toHaveLength(1);
    expect(r.guardUntouched()).toBe(true);
  });

  it("a callback that throws does not escape", () => {
    const memory = new RamMemory(new Uint8Array(RAM));
    const q = new SplitQueue({
      index: 0, size: 8, desc: DESC, avail: AVAIL, used: USED, memory, eventIdx: false, indirect: false,
      interrupt: () => {}, onBroken: () => { throw new Error("x"); },
    });
    memory.writeU16(AVAIL + 2, 100);
    expect(q.pop()).toBeNull();
    expect(q.counters.errors.availIdx).toBe(1);
  });
});

describe("SplitQueue: used ring and interrupts", () => {
  it("writes the used element before the idx and clamps a bad length", () => {
    const r = new Rig();
    r.desc(1, 0x8000, 8, WRITE);
    r.publish(1);
    const c = r.q.pop()!;
    r.q.push(c, 100); // device bug: more than the chain holds
    expect(r.usedElem(0)).toEqual([1, 8]);
    expect(r.usedIdx()).toBe(1);
    expect(r.q.counters.badPush).toBe(1);
  });

  it("without EVENT_IDX honours VRING_AVAIL_F_NO_INTERRUPT", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 8, WRITE);
    r.publish(0);
    r.q.push(r.q.pop()!, 0);
    r.q.signalUsed();
    expect(r.interrupts).toBe(1);
    r.dv.setUint16(AVAIL, 1, true);
    r.publish(0);
    r.q.push(r.q.pop()!, 0);
    r.q.signalUsed();
    expect(r.interrupts).toBe(1);
    expect(r.q.counters.suppressed).toBe(1);
    r.q.signalUsed(); // nothing new: no interrupt either way
    expect(r.q.counters).toMatchObject({ interrupts: 1, suppressed: 2 });
  });

  it("with EVENT_IDX interrupts only when used idx passes used_event", () => {
    const r = new Rig(8, { eventIdx: true });
    r.desc(0, 0x8000, 8, WRITE);
    const complete = (n: number): void => {
      for (let i = 0; i < n; i++) {
        r.publish(0);
        r.q.push(r.q.pop()!, 0);
      }
      r.q.signalUsed();
    };
    r.setUsedEvent(2); // "interrupt me when entry 2 is used", i.e. used idx goes past 2
    complete(2); // used idx 2: not yet
    expect(r.interrupts).toBe(0);
    complete(1); // used idx 3: crossed
    expect(r.interrupts).toBe(1);
    complete(1); // used idx 4, event still 2: already signalled past it
    expect(r.interrupts).toBe(1);
    r.setUsedEvent(4);
    complete(1);
    expect(r.interrupts).toBe(2);
    expect(r.q.counters).toMatchObject({ interrupts: 2, suppressed: 2 });
  });

  it("with EVENT_IDX the formula works across the u16 wrap", () => {
    const r = new Rig(4, { eventIdx: true });
    r.desc(0, 0x8000, 8, WRITE);
    r.setUsedEvent(0xffff);
    for (let i = 0; i < 0xffff; i++) {
      r.publish(0);
      r.q.push(r.q.pop()!, 0);
    }
    r.q.signalUsed(); // used idx 0xffff, event 0xffff: not past yet
    expect(r.interrupts).toBe(0);
    r.publish(0);
    r.q.push(r.q.pop()!, 0);
    r.q.signalUsed(); // used idx 0 (wrapped): past 0xffff
    expect(r.interrupts).toBe(1);
  });

  it("with EVENT_IDX keeps avail_event at the last avail idx taken", () => {
    const r = new Rig(8, { eventIdx: true });
    r.desc(0, 0x8000, 8, WRITE);
    r.publish(0);
    r.publish(0);
    r.q.pop();
    expect(r.availEvent()).toBe(1);
    r.q.pop();
    expect(r.availEvent()).toBe(2);
  });

  it("after close() nothing touches guest memory", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 8, WRITE);
    r.publish(0);
    const c = r.q.pop()!;
    r.q.close();
    const before = r.ram.slice();
    r.q.push(c, 8);
    expect(r.q.writeTo(c, 0, new Uint8Array(8).fill(1))).toBe(0);
    r.q.signalUsed();
    r.publish(0);
    expect(r.q.pop()).toBeNull();
    expect(r.ram.subarray(USED)).toEqual(before.subarray(USED));
    expect(r.interrupts).toBe(0);
  });
});

describe("SplitQueue: readFrom / writeTo", () => {
  it("copies across segment boundaries at any offset", () => {
    const r = new Rig();
    r.ram.set([1, 2, 3], 0x8000);
    r.ram.set([4, 5], 0x8100);
    r.desc(0, 0x8000, 3, NEXT, 1);
    r.desc(1, 0x8100, 2, NEXT, 2);
    r.desc(2, 0x9000, 2, WRITE | NEXT, 3);
    r.desc(3, 0x9100, 3, WRITE);
    r.publish(0);
    const c = r.q.pop()!;
    const dst = new Uint8Array(4);
    expect(r.q.readFrom(c, 1, dst)).toBe(4);
    expect(Array.from(dst)).toEqual([2, 3, 4, 5]);
    expect(r.q.readFrom(c, 4, new Uint8Array(9))).toBe(1);
    expect(r.q.readFrom(c, 5, new Uint8Array(9))).toBe(0);
    expect(r.q.readFrom(c, -1, dst)).toBe(0);
    expect(r.q.writeTo(c, 1, new Uint8Array([9, 8, 7, 6, 5]))).toBe(4);
    expect(Array.from(r.ram.subarray(0x9000, 0x9002))).toEqual([0, 9]);
    expect(Array.from(r.ram.subarray(0x9100, 0x9103))).toEqual([8, 7, 6]);
    expect(r.q.writeTo(c, 0.5, new Uint8Array(1))).toBe(0);
  });
});

describe("SplitQueue: chain reuse and copy paths", () => {
  it("a head popped again after completion describes its new descriptors", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 16, NEXT, 1);
    r.desc(1, 0x9000, 512, WRITE);
    r.publish(0);
    const first = r.q.pop()!;
    expect(first.readable).toEqual([{ addr: 0x8000, len: 16 }]);
    r.q.push(first, 0);
    // The driver reuses head 0 for a longer chain with different buffers.
    r.desc(0, 0xa000, 8, NEXT, 2);
    r.desc(2, 0xa100, 8, NEXT, 3);
    r.desc(3, 0xb000, 64, WRITE | NEXT, 4);
    r.desc(4, 0xb100, 1, WRITE);
    r.publish(0);
    const again = r.q.pop()!;
    expect(again.head).toBe(0);
    expect(again.readable).toEqual([{ addr: 0xa000, len: 8 }, { addr: 0xa100, len: 8 }]);
    expect(again.writable).toEqual([{ addr: 0xb000, len: 64 }, { addr: 0xb100, len: 1 }]);
    expect([again.readableLength, again.writableLength]).toEqual([16, 65]);
  });

  it("copies large and small pieces both ways, with or without the memory's bulk copies", () => {
    for (const bulk of [true, false]) {
      const ramBytes = new Uint8Array(RAM);
      const ram = new RamMemory(ramBytes);
      // A GuestMemory with only the interface's methods: the queue falls back to view()/write().
      const memory = bulk
        ? ram
        : {
            get size() {
              return ram.size;
            },
            view: (a: number, l: number) => ram.view(a, l),
            write: (a: number, d: Uint8Array) => ram.write(a, d),
            writeU16: (a: number, v: number) => ram.writeU16(a, v),
            writeU32: (a: number, v: number) => ram.writeU32(a, v),
            readU16: (a: number) => ram.readU16(a),
            readU32: (a: number) => ram.readU32(a),
            busWrite32: (a: number, v: number) => ram.busWrite32(a, v),
          };
      const q = new SplitQueue({
        index: 0, size: 8, desc: DESC, avail: AVAIL, used: USED, memory, eventIdx: false, indirect: false,
        interrupt: () => {}, onBroken: () => {},
      });
      const dv = new DataView(ramBytes.buffer);
      const desc = (i: number, addr: number, len: number, flags: number, next: number) => {
        dv.setUint32(DESC + 16 * i, addr, true);
        dv.setUint32(DESC + 16 * i + 8, len, true);
        dv.setUint16(DESC + 16 * i + 12, flags, true);
        dv.setUint16(DESC + 16 * i + 14, next, true);
      };
      const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 1) & 0xff);
      ramBytes.set(data.subarray(0, 100), 0x8000);
      ramBytes.set(data.subarray(100), 0x8800);
      desc(0, 0x8000, 100, NEXT, 1);
      desc(1, 0x8800, 200, NEXT, 2);
      desc(2, 0x9000, 40, WRITE | NEXT, 3);
      desc(3, 0x9800, 260, WRITE, 0);
      dv.setUint16(AVAIL + 4, 0, true);
      dv.setUint16(AVAIL + 2, 1, true);
      const c = q.pop()!;
      const out = new Uint8Array(290);
      expect(q.readFrom(c, 10, out)).toBe(290);
      expect(out).toEqual(data.subarray(10));
      expect(q.writeTo(c, 0, data)).toBe(300);
      expect(ramBytes.subarray(0x9000, 0x9028)).toEqual(data.subarray(0, 40));
      expect(ramBytes.subarray(0x9800, 0x9800 + 260)).toEqual(data.subarray(40));
      expect(q.writeTo(c, 295, Uint8Array.of(1, 2, 3, 4, 5, 6, 7))).toBe(5);
    }
  });
});

describe("SplitQueue: pooled chains stay bounded", () => {
  it("a chain longer than the pool keeps is handed out whole and stays intact when its head comes back", () => {
    const r = new Rig(8, { indirect: true, ram: 0x20000 });
    const table = 0x6000;
    const n = 400;
    for (let i = 0; i < n; i++) r.desc(i, 0x10000 + 16 * i, 16, i < n - 1 ? NEXT : WRITE, i + 1, table);
    r.desc(0, table, 16 * n, INDIRECT);
    r.publish(0);
    const long = r.q.pop()!;
    expect(long.readable.length).toBe(n - 1);
    expect(long.writable).toEqual([{ addr: 0x10000 + 16 * (n - 1), len: 16 }]);
    expect(long.readableLength).toBe(16 * (n - 1));
    r.q.push(long, 0);
    r.desc(0, 0x9000, 4, NEXT, 1);
    r.desc(1, 0x9100, 2, WRITE);
    r.publish(0);
    const short = r.q.pop()!;
    expect(short.readable).toEqual([{ addr: 0x9000, len: 4 }]);
    expect(short.writable).toEqual([{ addr: 0x9100, len: 2 }]);
    expect(long.readable.length).toBe(n - 1);
    expect(long.readable[5]).toEqual({ addr: 0x10000 + 16 * 5, len: 16 });
  });

  it("a head reused for a shorter chain drops the old chain's extra segments", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 4, NEXT, 1);
    r.desc(1, 0x8100, 4, NEXT, 2);
    r.desc(2, 0x8200, 4, NEXT, 3);
    r.desc(3, 0x9000, 8, WRITE | NEXT, 4);
    r.desc(4, 0x9100, 1, WRITE);
    r.publish(0);
    r.q.push(r.q.pop()!, 0);
    r.desc(0, 0xa000, 16, NEXT, 1);
    r.desc(1, 0xb000, 1, WRITE);
    r.publish(0);
    const c = r.q.pop()!;
    expect(c.readable).toEqual([{ addr: 0xa000, len: 16 }]);
    expect(c.writable).toEqual([{ addr: 0xb000, len: 1 }]);
    expect([c.readableLength, c.writableLength]).toEqual([16, 1]);
  });
});

describe("SplitQueue: a head published again while in flight", () => {
  it("gets a chain of its own; the one the device holds keeps its segments", () => {
    const r = new Rig();
    r.desc(0, 0x8000, 16, NEXT, 1);
    r.desc(1, 0x9000, 512, WRITE);
    r.publish(0);
    const held = r.q.pop()!;
    // A lying driver rewrites head 0's descriptors and publishes it again before completion.
    r.desc(0, 0xa000, 8, WRITE);
    r.publish(0);
    const again = r.q.pop()!;
    expect(again).not.toBe(held);
    expect(again.writable).toEqual([{ addr: 0xa000, len: 8 }]);
    expect(held.readable).toEqual([{ addr: 0x8000, len: 16 }]);
    expect(held.writable).toEqual([{ addr: 0x9000, len: 512 }]);
    expect([held.readableLength, held.writableLength]).toEqual([16, 512]);
    r.q.push(held, 512);
    r.q.push(again, 8);
    expect(r.q.counters.badPush).toBe(0);
  });
});
