// A driver-side helper for unit tests (in the spirit of rust-vmm's virtio-queue mock): it owns
// a RAM array, lays out split rings in it, drives a device through the real MmioTransport with
// the register sequence Linux uses, builds direct and indirect chains, notifies, runs the
// scheduled tasks, reads the used ring, and records line edges and MSI writes.
//
//   const d = new TestDriver({ device });
//   d.init();                                   // reset .. DRIVER_OK, one queue per device queue
//   const c = d.addChain(0, { readable: [hdr], writable: [512, 1] });
//   d.notify(0); d.runTasks();
//   d.takeUsed(0)  // [{ id: c.head, len: 513 }]
//   d.read(c.writable[0].addr, 512)
//
// Buffers come from a bump allocator that wraps around to just after the rings, so keep the
// number of bytes in flight well under the RAM size.

import type { GuestMemory, InterruptLine, VirtioDevice } from "../virtio/interfaces.ts";
import { FEATURE, MSI_CMD, MSI_CONTROL, MSI_TARGET_CONTROL, REG, STATUS, VIRTQ_DESC_F, type RegisterName } from "../virtio/constants.ts";
import { MmioTransport, type MmioMsiOptions } from "../virtio/mmio-transport.ts";
import { RamMemory } from "../virtio/ram-memory.ts";

export const TEST_MSI_ADDR = 0xfee00000;
/** MSI data of vector v in the driver's setup: vector number 0x40 + v, fixed, edge. */
export const testMsiData = (v: number): number => 0x40 + v;
/**
 * MSI data of v3 target t (0 = config, 1 + q = queue q): vector number 0x60 + t, apart from
 * the 2020 table's, so a message tells which layout sent it.
 */
export const testPqData = (t: number): number => 0x60 + t;

export interface TestDriverOptions {
  readonly device: VirtioDevice;
  /** Bytes of guest RAM; default 4 MiB. */
  readonly ramSize?: number;
  /** Use this array as guest RAM instead (for example a subarray with a guard after it). */
  readonly ram?: Uint8Array;
  /** The transport's MSI layout (default: false, none; the transport's own default is v3). */
  readonly msi?: MmioMsiOptions;
  /** The transport's ringReset option (default: the transport's). */
  readonly ringReset?: boolean;
  /** What the bus does with a non-RAM write; default: accept 0xFEExxxxx. */
  readonly busWrite?: (addr: number, value: number) => boolean;
  /** What the transport sees as guest memory, built on the driver's RAM (the fuzzer instruments it). */
  readonly wrapMemory?: (ram: RamMemory) => GuestMemory;
}

export interface InitOptions {
  /** Features to accept; default: everything offered, minus the MSI bit (49, or 40 with the 2020 layout) unless `msi` is used. */
  readonly features?: bigint | ((offered: bigint) => bigint);
  /** Queue sizes to set up (default: each queue's max, capped at 256); 0 skips a queue. */
  readonly queueSizes?: readonly number[];
  /**
   * MSI setup as the 2020 driver does: one vector per event, or two shared ones; or the v3
   * layout with one pair per target (target t gets data testPqData(t)), or with one pair
   * written into every target (data testPqData(1)), as a driver sharing one interrupt does.
   */
  readonly msi?: "fixed" | "shared" | "per-queue" | "per-queue-shared" | "none";
  /** Stop before DRIVER_OK (default true = write DRIVER_OK). */
  readonly driverOk?: boolean;
}

export interface DescSpec {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

export interface ChainSpec {
  /** Buffers the device reads, in order. */
  readonly readable?: readonly Uint8Array[];
  /** Lengths of buffers the device writes, in order (filled with 0xee to spot untouched bytes). */
  readonly writable?: readonly number[];
}

export interface AddedChain {
  readonly head: number;
  readonly readable: readonly { addr: number; len: number }[];
  readonly writable: readonly { addr: number; len: number }[];
}

export interface UsedElem {
  readonly id: number;
  readonly len: number;
}

export interface DriverQueue {
  readonly index: number;
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  /** Next avail idx the driver will publish. */
  availIdx: number;
  /** Used idx the driver has consumed up to. */
  lastUsed: number;
  readonly free: number[];
  /** Descriptors held by each in-flight head, returned to `free` by takeUsed. */
  readonly inFlight: Map<number, number[]>;
}

export class TestDriver {
  readonly ram: Uint8Array;
  readonly memory: RamMemory;
  readonly transport: MmioTransport;
  readonly device: VirtioDevice;
  /** Line edges in order. */
  readonly lineEvents: ("raise" | "lower")[] = [];
  lineHigh = false;
  /** Bus writes outside RAM (MSI messages), in order. */
  readonly msiWrites: { addr: number; data: number }[] = [];
  readonly tasks: (() => void)[] = [];
  readonly queues: (DriverQueue | undefined)[] = [];
  /** Like Linux with callbacks enabled: takeUsed() sets used_event to the last used idx seen. */
  autoUsedEvent = true;
  #top = 0x1000;
  #heapBase = 0x1000;

  constructor(o: TestDriverOptions) {
    this.device = o.device;
    this.ram = o.ram ?? new Uint8Array(o.ramSize ?? 4 << 20);
    const busWrite = o.busWrite ?? ((addr: number) => addr >= 0xfee00000 && addr < 0xfef00000);
    this.memory = new RamMemory(this.ram, {
      busWrite: (addr, data) => {
        this.msiWrites.push({ addr, data });
        return busWrite(addr, data);
      },
    });
    const line: InterruptLine = {
      raise: () => {
        this.lineHigh = true;
        this.lineEvents.push("raise");
      },
      lower: () => {
        this.lineHigh = false;
        this.lineEvents.push("lower");
      },
    };
    this.transport = new MmioTransport({
      device: o.device,
      memory: o.wrapMemory ? o.wrapMemory(this.memory) : this.memory,
      line,
      schedule: (fn) => this.tasks.push(fn),
      msi: o.msi ?? false,
      ...(o.ringReset === undefined ? {} : { ringReset: o.ringReset }),
    });
  }

  /**
   * Takes over `other`'s driver-side bookkeeping (queue layouts, free lists, in-flight heads,
   * allocator), as a restored guest finds its driver's state in its restored RAM. Build this
   * driver on a copy of `other`'s RAM; the transport and device are this driver's own.
   */
  continueFrom(other: TestDriver): void {
    this.queues.length = 0;
    other.queues.forEach((q, i) => {
      if (q) this.queues[i] = { ...q, free: [...q.free], inFlight: new Map([...q.inFlight].map(([h, d]) => [h, [...d]])) };
    });
    this.#top = other.#top;
    this.#heapBase = other.#heapBase;
    this.autoUsedEvent = other.autoUsedEvent;
  }

  // ---- registers ----

  read32(reg: RegisterName | number): number {
    return this.transport.read(typeof reg === "number" ? reg : REG[reg], 4);
  }

  write32(reg: RegisterName | number, value: number): void {
    this.transport.write(typeof reg === "number" ? reg : REG[reg], 4, value);
  }

  /** Runs scheduled tasks (and the tasks they schedule) until none is left; returns how many ran. */
  runTasks(limit = 100_000): number {
    let n = 0;
    while (this.tasks.length > 0 && n < limit) {
      this.tasks.shift()!();
      n++;
    }
    return n;
  }

  offeredFeatures(): bigint {
    this.write32("DeviceFeaturesSel", 1);
    const hi = this.read32("DeviceFeatures");
    this.write32("DeviceFeaturesSel", 0);
    const lo = this.read32("DeviceFeatures");
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  writeDriverFeatures(f: bigint): void {
    this.write32("DriverFeaturesSel", 1);
    this.write32("DriverFeatures", Number((f >> 32n) & 0xffffffffn));
    this.write32("DriverFeaturesSel", 0);
    this.write32("DriverFeatures", Number(f & 0xffffffffn));
  }

  /** Adds status bits the way Linux does (read, or, write); returns the status read back. */
  addStatus(bits: number): number {
    this.write32("Status", this.read32("Status") | bits);
    return this.read32("Status");
  }

  reset(): void {
    this.write32("Status", 0);
    this.queues.length = 0;
    this.#top = 0x1000;
    this.#heapBase = 0x1000;
  }

  /** The whole Linux-like probe. `ok` is false when FEATURES_OK did not stick. */
  init(o: InitOptions = {}): { ok: boolean; features: bigint } {
    const msi = o.msi ?? "none";
    this.reset();
    this.addStatus(STATUS.ACKNOWLEDGE);
    this.addStatus(STATUS.DRIVER);
    const offered = this.offeredFeatures();
    const msiBit = this.transport.state().msiLayout === "2020" ? FEATURE.MMIO_MSI_2020 : FEATURE.MMIO_MSI;
    const dflt = msi === "none" ? offered & ~msiBit : offered;
    const features = typeof o.features === "function" ? o.features(offered) : (o.features ?? dflt);
    this.writeDriverFeatures(features);
    if (!(this.addStatus(STATUS.FEATURES_OK) & STATUS.FEATURES_OK)) {
      this.addStatus(STATUS.FAILED);
      return { ok: false, features };
    }
    const sizes = o.queueSizes ?? this.device.queueMaxSizes.map((m) => Math.min(m, 256));
    sizes.forEach((size, i) => {
      if (size > 0) this.setupQueue(i, size);
    });
    if (msi === "per-queue" || msi === "per-queue-shared") this.setupPerQueue(msi === "per-queue-shared");
    else if (msi !== "none") this.setupMsi(msi);
    this.#heapBase = this.#top;
    if (o.driverOk ?? true) this.addStatus(STATUS.DRIVER_OK);
    return { ok: true, features };
  }

  /** Lays out queue `index` with `size` entries in RAM and makes it ready. */
  setupQueue(index: number, size: number, at?: { desc: number; avail: number; used: number }): DriverQueue {
    const desc = at?.desc ?? this.alloc(16 * size, 4096);
    const avail = at?.avail ?? this.alloc(6 + 2 * size, 4096);
    const used = at?.used ?? this.alloc(6 + 8 * size, 4096);
    // Fresh rings are zeroed, as Linux allocates them: stale flags or event indices from an
    // earlier life of this RAM would suppress interrupts or fake available chains.
    this.ram.fill(0, desc, desc + 16 * size);
    this.ram.fill(0, avail, avail + 6 + 2 * size);
    this.ram.fill(0, used, used + 6 + 8 * size);
    this.write32("QueueSel", index);
    this.write32("QueueNum", size);
    this.write32("QueueDescLow", desc);
    this.write32("QueueDescHigh", 0);
    this.write32("QueueDriverLow", avail);
    this.write32("QueueDriverHigh", 0);
    this.write32("QueueDeviceLow", used);
    this.write32("QueueDeviceHigh", 0);
    this.write32("QueueReady", 1);
    const free = Array.from({ length: size }, (_, i) => i);
    const q: DriverQueue = { index, size, desc, avail, used, availIdx: 0, lastUsed: 0, free, inFlight: new Map() };
    this.queues[index] = q;
    return q;
  }

  /** MSI as the 2020 driver sets it up: vector v gets address 0xFEE00000, data 0x40 + v. */
  setupMsi(mode: "fixed" | "shared"): void {
    const nq = this.device.queueMaxSizes.length;
    const vectors = mode === "fixed" ? 1 + nq : 2;
    for (let v = 0; v < vectors; v++) this.configureVector(v, TEST_MSI_ADDR, testMsiData(v));
    if (mode === "shared") {
      this.write32("MsiVecSel", 0);
      this.write32("MsiCmd", MSI_CMD.MAP_CONFIG);
      this.write32("MsiVecSel", 1);
      for (let q = 0; q < nq; q++) {
        this.write32("QueueSel", q);
        this.write32("MsiCmd", MSI_CMD.MAP_QUEUE);
      }
    }
    this.write32("MsiCmd", MSI_CMD.ENABLE);
  }

  configureVector(v: number, addr: number, data: number, addrHigh = 0): void {
    this.write32("MsiVecSel", v);
    this.write32("MsiAddrLow", addr);
    this.write32("MsiAddrHigh", addrHigh);
    this.write32("MsiData", data);
    this.write32("MsiCmd", MSI_CMD.CONFIGURE);
  }

  msiCommand(cmd: number, vector?: number): void {
    if (vector !== undefined) this.write32("MsiVecSel", vector);
    this.write32("MsiCmd", cmd);
  }

  /**
   * The v3 layout (docs/virtio-mmio-msi-v3.md): every target gets its own pair (data
   * testPqData(t)), or with `shared` all the same one (testPqData(1)), and ENABLE; then MSI_ENABLE.
   */
  setupPerQueue(shared = false): void {
    const targets = 1 + this.device.queueMaxSizes.length;
    for (let t = 0; t < targets; t++) {
      this.setTarget(t, TEST_MSI_ADDR, testPqData(shared ? 1 : t));
      this.targetControl(t, MSI_TARGET_CONTROL.ENABLE);
    }
    this.write32("MsiControl", MSI_CONTROL.MSI_ENABLE);
  }

  /** Target t's pair (0 = configuration, 1 + q = queue q, selected with QueueSel): address words, then Data (R2). */
  setTarget(t: number, addr: number, data: number, addrHigh = 0): void {
    const p = this.#targetRegs(t);
    this.write32(p.addrLow, addr);
    this.write32(p.addrHigh, addrHigh);
    this.write32(p.data, data);
  }

  /** Writes target t's control word (ENABLE, MASK). */
  targetControl(t: number, value: number): void {
    this.write32(this.#targetRegs(t).control, value);
  }

  /** Reads target t's control word (ENABLE, MASK, PENDING). */
  readTargetControl(t: number): number {
    return this.read32(this.#targetRegs(t).control);
  }

  /** QueueReset of queue q (virtio 1.4 §2.6.1); returns what QueueReset reads after it. */
  queueReset(q: number): number {
    this.write32("QueueSel", q);
    this.write32("QueueReset", 1);
    return this.read32("QueueReset");
  }

  /**
   * After queueReset(q): lays the queue out afresh (zeroed rings, indices 0) and writes
   * QueueReady 1, as Linux's enable_vq_after_reset does; the old rings' memory is reused when
   * the new size fits in it. The driver's in-flight heads of the old ring are gone.
   */
  reenableQueue(q: number, size: number): DriverQueue {
    const old = this.queues[q];
    return this.setupQueue(q, size, old && size <= old.size ? old : undefined);
  }

  #targetRegs(t: number): { addrLow: RegisterName; addrHigh: RegisterName; data: RegisterName; control: RegisterName } {
    if (t === 0) return { addrLow: "ConfigMsiAddrLow", addrHigh: "ConfigMsiAddrHigh", data: "ConfigMsiData", control: "ConfigMsiControl" };
    this.write32("QueueSel", t - 1);
    return { addrLow: "QueueMsiAddrLow", addrHigh: "QueueMsiAddrHigh", data: "QueueMsiData", control: "QueueMsiControl" };
  }

  // ---- RAM ----

  /** Bump allocation in RAM; wraps to just after the rings when it reaches the end. */
  alloc(len: number, align = 16): number {
    let a = Math.ceil(this.#top / align) * align;
    if (a + len > this.ram.length) a = Math.ceil(this.#heapBase / align) * align;
    if (a + len > this.ram.length) throw new RangeError(`test RAM too small for ${len} bytes`);
    this.#top = a + len;
    return a;
  }

  read(addr: number, len: number): Uint8Array {
    return this.ram.slice(addr, addr + len);
  }

  writeBytes(addr: number, data: Uint8Array): void {
    this.ram.set(data, addr);
  }

  u16(addr: number): number {
    return this.ram[addr]! | (this.ram[addr + 1]! << 8);
  }

  u32(addr: number): number {
    return (this.u16(addr) | (this.u16(addr + 2) << 16)) >>> 0;
  }

  setU16(addr: number, v: number): void {
    this.ram[addr] = v;
    this.ram[addr + 1] = v >>> 8;
  }

  setU32(addr: number, v: number): void {
    this.setU16(addr, v & 0xffff);
    this.setU16(addr + 2, v >>> 16);
  }

  /** Writes one 16-byte descriptor at `table` + 16 * i (a queue's table or an indirect one). */
  writeDesc(table: number, i: number, d: DescSpec): void {
    const b = table + 16 * i;
    this.setU32(b, d.addr);
    this.setU32(b + 4, 0);
    this.setU32(b + 8, d.len);
    this.setU16(b + 12, d.flags);
    this.setU16(b + 14, d.next);
  }

  // ---- chains ----

  #q(index: number): DriverQueue {
    const q = this.queues[index];
    if (!q) throw new Error(`queue ${index} not set up`);
    return q;
  }

  #buffers(spec: ChainSpec): { r: { addr: number; len: number }[]; w: { addr: number; len: number }[] } {
    const r = (spec.readable ?? []).map((data) => {
      const addr = this.alloc(Math.max(data.length, 1));
      this.ram.set(data, addr);
      return { addr, len: data.length };
    });
    const w = (spec.writable ?? []).map((len) => {
      const addr = this.alloc(Math.max(len, 1));
      this.ram.fill(0xee, addr, addr + len);
      return { addr, len };
    });
    return { r, w };
  }

  /** Builds a chain (direct, or one indirect descriptor pointing at a table) and publishes it. */
  addChain(queue: number, spec: ChainSpec, o: { indirect?: boolean; publish?: boolean } = {}): AddedChain {
    const q = this.#q(queue);
    const { r, w } = this.#buffers(spec);
    const segs = [...r.map((s) => ({ ...s, flags: 0 })), ...w.map((s) => ({ ...s, flags: VIRTQ_DESC_F.WRITE }))];
    let used: number[];
    if (o.indirect) {
      const table = this.alloc(16 * segs.length, 16);
      segs.forEach((s, i) => {
        const more = i + 1 < segs.length;
        this.writeDesc(table, i, { addr: s.addr, len: s.len, flags: s.flags | (more ? VIRTQ_DESC_F.NEXT : 0), next: more ? i + 1 : 0 });
      });
      used = this.#take(q, 1);
      this.writeDesc(q.desc, used[0]!, { addr: table, len: 16 * segs.length, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
    } else {
      used = this.#take(q, segs.length);
      segs.forEach((s, i) => {
        const more = i + 1 < segs.length;
        this.writeDesc(q.desc, used[i]!, { addr: s.addr, len: s.len, flags: s.flags | (more ? VIRTQ_DESC_F.NEXT : 0), next: more ? used[i + 1]! : 0 });
      });
    }
    const head = used[0]!;
    q.inFlight.set(head, used);
    if (o.publish ?? true) this.publish(queue, head);
    return { head, readable: r, writable: w };
  }

  #take(q: DriverQueue, n: number): number[] {
    if (n < 1 || q.free.length < n) throw new Error(`queue ${q.index}: ${n} descriptors wanted, ${q.free.length} free`);
    return q.free.splice(0, n);
  }

  /** Puts `head` on the avail ring and bumps avail idx (no notify). */
  publish(queue: number, head: number): void {
    const q = this.#q(queue);
    this.setU16(q.avail + 4 + 2 * (q.availIdx % q.size), head);
    q.availIdx = (q.availIdx + 1) & 0xffff;
    this.setU16(q.avail + 2, q.availIdx);
  }

  /** Sets the avail idx directly (hostile tests). */
  setAvailIdx(queue: number, idx: number): void {
    const q = this.#q(queue);
    q.availIdx = idx & 0xffff;
    this.setU16(q.avail + 2, q.availIdx);
  }

  notify(queue: number): void {
    this.write32("QueueNotify", queue);
  }

  /** notify + runTasks + takeUsed. */
  kick(queue: number): UsedElem[] {
    this.notify(queue);
    this.runTasks();
    return this.takeUsed(queue);
  }

  /** New used elements since the last call; their descriptors go back to the free list. */
  takeUsed(queue: number): UsedElem[] {
    const q = this.#q(queue);
    const usedIdx = this.u16(q.used + 2);
    const out: UsedElem[] = [];
    while (q.lastUsed !== usedIdx) {
      const e = q.used + 4 + 8 * (q.lastUsed % q.size);
      const elem = { id: this.u32(e), len: this.u32(e + 4) };
      out.push(elem);
      const descs = q.inFlight.get(elem.id);
      if (descs) {
        q.inFlight.delete(elem.id);
        q.free.push(...descs);
      }
      q.lastUsed = (q.lastUsed + 1) & 0xffff;
    }
    if (this.autoUsedEvent) this.setUsedEvent(queue, q.lastUsed);
    return out;
  }

  /** avail.flags (VIRTQ_AVAIL_F_NO_INTERRUPT = 1). */
  setAvailFlags(queue: number, flags: number): void {
    this.setU16(this.#q(queue).avail, flags);
  }

  /** used_event, at the avail ring's tail (EVENT_IDX). */
  setUsedEvent(queue: number, idx: number): void {
    const q = this.#q(queue);
    this.setU16(q.avail + 4 + 2 * q.size, idx);
  }

  /** avail_event, at the used ring's tail, as the device wrote it. */
  availEvent(queue: number): number {
    const q = this.#q(queue);
    return this.u16(q.used + 4 + 8 * q.size);
  }

  /** What Linux's vm_interrupt does: read InterruptStatus, ACK it; returns the status read. */
  handleLineInterrupt(): number {
    const s = this.read32("InterruptStatus");
    this.write32("InterruptACK", s);
    return s;
  }
}
