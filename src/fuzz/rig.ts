// One device under the fuzzer: a real device behind a real MmioTransport over watched, guarded
// RAM, driven by the TestDriver. The base class holds what every device shares: the well-behaved
// probe, interrupt bookkeeping (which events a step owes, with masking), the invariants checked
// after every operation, and the error totals. Subclasses add their device's requests.

import { concatBytes } from "../virtio/bytes.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { FEATURE, INTERRUPT, MSI_CMD, MSI_TARGET_CONTROL, STATUS } from "../virtio/constants.ts";
import type { MmioMsiOptions, MmioTransport } from "../virtio/mmio-transport.ts";
import type { SplitQueueCounters, SplitQueueErrors } from "../virtio/split-queue.ts";
import { TEST_MSI_ADDR, TestDriver, testMsiData, testPqData, type AddedChain } from "../testing/test-driver.ts";
import { EventLedger } from "./event-ledger.ts";
import { GuardedRam, WatchedMemory } from "./guarded-memory.ts";
import { MsiSink } from "./msi-sink.ts";
import type { Prng } from "../testing/prng.ts";

export type MsiLayout = MmioMsiOptions;
/**
 * The line, the 2020 table with a fixed or shared mapping, or the v3 targets with one pair per
 * target or one pair in every target (what a device with MsiVectorHint 1 gets from our driver).
 */
export type IrqMode = "none" | "fixed" | "shared" | "per-queue" | "per-queue-shared";

/** A fault the fuzzer injected whose counting is certain: `read()` must rise above `before`. */
export interface Expectation {
  readonly kind: string;
  readonly read: () => number;
  readonly before: number;
}

export function expectRise(kind: string, read: () => number): Expectation {
  return { kind, read, before: read() };
}

/** What a step returns: null when all went as it should, else what went wrong. */
export type StepResult = string | null;

const RAM_SIZE = 256 * 1024;

export abstract class Rig {
  readonly name: string;
  readonly msiLayout: MsiLayout;
  // RAM, the watch on it, the MSI sink, the driver, its transport and the ledger are replaced
  // together when the fuzzer restores the rig into a fresh transport and device (restoreFresh).
  #ram!: GuardedRam;
  #memory!: WatchedMemory;
  #sink!: MsiSink;
  #driver!: TestDriver;
  #ledger!: EventLedger;
  /** Counters of the transports, devices, memory watches and sinks a restore retired. */
  readonly retired: Record<string, number> = {};
  /** Interrupt mode of the current well-behaved episode. */
  mode: IrqMode = "none";
  /** Features the current well-behaved episode negotiated. */
  features = 0n;
  /** Guest errors of the split queues, by kind, summed over every queue this rig ever had. */
  readonly queueErrors: Record<string, number> = {};
  /** Writable buffers of chains the driver has handed over and not yet got back, by queue. */
  readonly #inFlight = new Map<number, Map<number, readonly (readonly [number, number])[]>>();
  #liveCounters: SplitQueueCounters[] = [];
  #statusWritesSeen = 0;
  #lineHigh = false;
  /** Events the current step owes the driver. */
  #wantQueues = new Set<number>();
  #wantConfig = false;
  #quiet = false;

  protected constructor(name: string, device: VirtioDevice, msi: MsiLayout) {
    this.name = name;
    this.msiLayout = msi;
    this.#wire(device, new GuardedRam(RAM_SIZE), []);
  }

  get ram(): GuardedRam {
    return this.#ram;
  }
  get memory(): WatchedMemory {
    return this.#memory;
  }
  get sink(): MsiSink {
    return this.#sink;
  }
  get driver(): TestDriver {
    return this.#driver;
  }
  get transport(): MmioTransport {
    return this.#driver.transport;
  }
  /** The fuzzer's own account of events, deliveries and ACKs (the no-lost-event invariant). */
  get ledger(): EventLedger {
    return this.#ledger;
  }

  /** A driver and transport for `device` over `ram`; `owed`: events the ledger carries over. */
  #wire(device: VirtioDevice, ram: GuardedRam, owed: readonly number[]): void {
    this.#ram = ram;
    this.#sink = new MsiSink();
    let watched: WatchedMemory | null = null;
    this.#driver = new TestDriver({
      device,
      ram: ram.ram,
      msi: this.msiLayout,
      busWrite: this.#sink.busWrite,
      wrapMemory: (inner) => (watched = new WatchedMemory(inner, ram)),
    });
    this.#memory = watched!;
    // The driver keeps no list of what it was sent: the sink and the line checks replace it.
    this.#sink.check = (addr, data) => this.#checkMsi(addr, data);
    // Every message the device issues and every register write (ACKs, resets) feed the ledger.
    const t = this.transport;
    const ledger = (this.#ledger = new EventLedger(t, owed));
    this.#memory.onBusWrite = (addr, data) => ledger.busWrite(addr, data);
    const write = t.write.bind(t);
    t.write = (offset, width, value) => ledger.write(offset, width, value, () => write(offset, width, value));
  }

  // ---- save and restore ----

  /** The device's own saved state (JSON-able), or null when it has none; may throw while busy. */
  protected abstract saveDevice(): unknown;
  /**
   * A fresh device like this rig's, with `saved` checked against it; returns the device and
   * what applies the state after the transport's restore. Throws for a refused state.
   */
  protected abstract freshDevice(saved: unknown): { device: VirtioDevice; apply: () => void };
  /** Makes the fresh device this rig's (subclasses keep their typed reference). */
  protected abstract adoptDevice(device: VirtioDevice): void;
  /** Lets the device finish what is in flight before a save; false when it cannot now. */
  async drainForSave(_rng: Prng): Promise<boolean> {
    return true;
  }

  /**
   * Saves the transport's and the device's state (through JSON, as a file would carry them),
   * builds a fresh device, transport, memory watch and sink on a copy of the RAM, restores the
   * state there and carries on with it; the driver takes over its bookkeeping (its state is in
   * RAM), and the ledger carries the events still owed, which the restored transport must
   * still show. `tamper` edits the saved transport state first (a test of the fuzzer itself).
   * Returns why the restore went wrong, or null.
   */
  restoreFresh(retire: () => Record<string, number>, tamper?: (state: Record<string, unknown>) => void): StepResult {
    const old = this.#driver;
    const transportState = JSON.parse(JSON.stringify(this.transport.persist.save())) as Record<string, unknown>;
    const deviceState: unknown = JSON.parse(JSON.stringify(this.saveDevice() ?? null));
    tamper?.(transportState);
    const owed = this.#ledger.owed();
    const counted = retire();
    const ram = new GuardedRam(RAM_SIZE);
    ram.ram.set(this.#ram.ram);
    const fresh = this.freshDevice(deviceState);
    this.#wire(fresh.device, ram, owed);
    this.#driver.continueFrom(old);
    try {
      const t = this.transport.persist;
      t.apply(t.check(transportState));
    } catch (e) {
      return `a saved state was refused: ${(e as Error).message}`;
    }
    fresh.apply();
    this.adoptDevice(fresh.device);
    for (const [k, v] of Object.entries(counted)) this.retired[k] = (this.retired[k] ?? 0) + v;
    // The new transport's counters start at 0: the old queues' errors are in `retired`.
    for (const k of Object.keys(this.queueErrors)) delete this.queueErrors[k];
    this.#liveCounters = [];
    this.harvestQueues();
    // A fresh line starts low; the restore raises it once if it was high.
    this.#lineHigh = false;
    // The restore itself sends nothing: an event still owed waits, pending, for what makes it
    // deliverable; a notify of every running queue only takes chains again.
    if (this.#driver.msiWrites.length > 0) return `the restore sent ${this.#driver.msiWrites.length} MSI(s)`;
    return null;
  }

  abstract readonly device: VirtioDevice;
  /** Feature bits a well-behaved driver may decline. */
  protected abstract readonly optionalFeatures: bigint;
  /** Queues whose notify takes every available chain at once (hostile chains go there). */
  abstract readonly poppingQueues: readonly number[];
  /** The device's count of guest mistakes (bad requests, dropped frames...). */
  protected abstract deviceGuestErrors(): number;
  /** The device's count of its own bugs; must stay 0. */
  abstract deviceInternalErrors(): number;
  /** One valid request, completed and verified. */
  protected abstract step(rng: Prng): Promise<StepResult>;
  /** A request the device must refuse (on a sound chain); the expectation when it is certain. */
  abstract hostileRequest(rng: Prng, queue: number | null): Expectation | null;
  /** Makes the device raise a config event; true when one surely went to the transport. */
  abstract triggerConfig(): boolean;
  /** Queue sizes the driver sets up for the negotiated features (0 = leave out). */
  protected queueSizes(rng: Prng): number[] {
    return this.device.queueMaxSizes.map((max) => Math.min(max, 1 << rng.range(2, 4)));
  }
  /** Lets the device's asynchronous work finish (a backend that answers later). */
  protected async settle(): Promise<void> {}
  /** Lets everything under way finish, so a well-behaved episode starts from a quiet disk. */
  async quiesce(): Promise<void> {}
  /** After each operation: a chance for asynchronous work to progress (or fail). */
  afterOp(_rng: Prng): Promise<void> | null {
    return null;
  }
  /** Called before the probe's reset: device-side state the episode needs (the reset clears events). */
  protected beforeInit(): void {}
  /** Called at the start of a well-behaved episode, after init. */
  protected beginEpisode(): void {}

  // ---- the well-behaved driver ----

  /** Reset and the Linux-like probe with random (or the given) interrupt mode and features; verified. */
  init(rng: Prng, mode?: IrqMode): StepResult {
    const m = this.msiLayout;
    const pq = m !== false && m.layout === "v3" && (m.hint === 1 || rng.chance(0.25)) ? "per-queue-shared" : "per-queue";
    this.mode = mode ?? (m === false || rng.chance(0.25) ? "none" : m.layout === "v3" ? pq : m.sharing ? "shared" : "fixed");
    this.#inFlight.clear();
    const chosen = this.mode;
    let decline = 0n;
    for (let b = 0n; b < 64n; b++) if (this.optionalFeatures & (1n << b) && rng.chance(0.3)) decline |= 1n << b;
    // With the line, the driver may still accept the MSI bit and just never enable it (on the
    // 2020 layout that bit is 40; on the others bit 40 is RING_RESET, declined now and then).
    const msiBit = m !== false && m.layout === "2020" ? FEATURE.MMIO_MSI_2020 : FEATURE.MMIO_MSI;
    if (chosen === "none" && rng.chance(0.7)) decline |= msiBit;
    // (Mode-change episodes, which ask for a mode, keep it: their scripts reset queues.)
    if (msiBit !== FEATURE.RING_RESET && mode === undefined && rng.chance(0.2)) decline |= FEATURE.RING_RESET;
    this.harvestQueues();
    this.beforeInit();
    const r = this.driver.init({
      features: (offered) => offered & ~decline,
      msi: chosen,
      queueSizes: this.queueSizesFor(rng, this.transport.offeredFeatures & ~decline),
    });
    this.features = r.features;
    if (!r.ok) return `init: FEATURES_OK refused for ${r.features.toString(16)}`;
    const want = STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK;
    const status = this.driver.read32("Status");
    if (status !== want) return `init: status ${status} after DRIVER_OK`;
    const msiMode = this.transport.state().msiMode;
    if (msiMode !== (chosen === "none" ? null : this.#perQueue ? "per-queue" : "table")) return `init: interrupt mode is ${msiMode}, not ${chosen}`;
    this.beginEpisode();
    return null;
  }

  /** False when the device would leave new chains in the ring for now (a full in-flight budget). */
  popsNow(): boolean {
    return true;
  }

  /** Queue sizes for init; a device can leave queues out for some features. */
  protected queueSizesFor(rng: Prng, _features: bigint): number[] {
    return this.queueSizes(rng);
  }

  /**
   * One verified step of the well-behaved driver: the device's own request, sometimes with the
   * event's vector masked around it. Every event the step owes must arrive, none it does not
   * owe may, and no guest error may be counted.
   */
  async wellBehavedStep(rng: Prng): Promise<StepResult> {
    const errorsBefore = this.guestErrors();
    this.sink.delivered.length = 0;
    this.#wantQueues.clear();
    this.#wantConfig = false;
    // The driver's extras first: a queue reset writes the queue's target afresh (unmasked).
    const extra = this.#driverExtras(rng);
    if (extra !== null) return extra;
    let masked: number | null = null;
    if (this.mode !== "none" && rng.chance(0.1)) {
      // With one shared interrupt there is one thing to mask (every target, with the v3 layout).
      masked = this.mode === "per-queue-shared" ? 1 : rng.int(this.mode === "shared" ? 2 : this.device.queueMaxSizes.length + 1);
      this.#mask(masked, true);
    }
    // Now and then the driver asks for no used-buffer interrupts during a step.
    this.#quiet = rng.chance(0.05);
    if (this.#quiet) this.#setQuiet(true);
    this.memory.allowed = () => this.#allowedWrites();
    let result: StepResult;
    try {
      result = await this.step(rng);
    } finally {
      this.memory.allowed = null;
    }
    if (this.#quiet) this.#setQuiet(false);
    if (result !== null) return result;
    result = this.#checkEvents(masked);
    if (result !== null) return result;
    const errorsAfter = this.guestErrors();
    if (errorsAfter !== errorsBefore) return `well-behaved step counted ${errorsAfter - errorsBefore} guest error(s): ${this.#errorSummary()}`;
    return null;
  }

  /** The step owes the driver a used-buffer event of queue q (unless it asked for quiet). */
  protected wantQueue(q: number): void {
    if (!this.#quiet) this.#wantQueues.add(q);
  }

  /**
   * Suppresses used-buffer interrupts on every queue the way a driver does: used_event far
   * behind with EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT without; and back.
   */
  #setQuiet(on: boolean): void {
    const d = this.driver;
    const eventIdx = this.negotiated(FEATURE.EVENT_IDX);
    d.autoUsedEvent = !on;
    for (const q of d.queues) {
      if (!q) continue;
      if (eventIdx) d.setUsedEvent(q.index, on ? (q.lastUsed + 0x8000) & 0xffff : q.lastUsed);
      else d.setAvailFlags(q.index, on ? 1 : 0);
    }
  }

  /**
   * Things a well-behaved driver does besides requests: read the config space (every width must
   * agree, the generation must not move), and give up on MSI for the line (DISABLE).
   */
  #driverExtras(rng: Prng): StepResult {
    const d = this.driver;
    if (rng.chance(0.1) && this.device.configSize >= 4) {
      const gen = d.read32("ConfigGeneration");
      const off = 4 * rng.int(Math.floor(this.device.configSize / 4));
      const word = this.transport.read(0x100 + off, 4);
      let bytes = 0;
      for (let i = 3; i >= 0; i--) bytes = (bytes * 256 + this.transport.read(0x100 + off + i, 1)) >>> 0;
      const half = (this.transport.read(0x100 + off, 2) | (this.transport.read(0x100 + off + 2, 2) << 16)) >>> 0;
      if (word !== bytes || word !== half) return `config at ${off}: 32-bit ${word}, 8-bit ${bytes}, 16-bit ${half}`;
      if (d.read32("ConfigGeneration") !== gen) return "ConfigGeneration moved without a config change";
    }
    if (this.mode !== "none" && rng.chance(0.01)) {
      if (this.#perQueue) {
        d.write32("MsiControl", 0);
        if (d.read32("MsiControl") !== 0) return "MsiControl still says enabled after clearing MSI_ENABLE";
      } else {
        d.msiCommand(MSI_CMD.DISABLE);
        if (d.read32("MsiState") >>> 31 !== 0) return "MsiState still says enabled after DISABLE";
      }
      this.mode = "none";
      if (this.transport.state().interruptMode !== "line") return "still in MSI mode after DISABLE";
    }
    // With RING_RESET, now and then the driver resets a queue and sets it up again (ethtool -G).
    // (On the 2020 layout bit 40 is the MSI bit, never RING_RESET.)
    if (this.transport.state().ringReset && this.negotiated(FEATURE.RING_RESET) && rng.chance(0.02)) {
      const live = this.transport.state().queues.filter((q) => q.ready && this.resettableQueue(q.index));
      if (live.length > 0) return this.resetQueue(rng.pick(live).index, true);
    }
    return null;
  }

  /** Queues a well-behaved driver may reset mid-episode (a device may keep some out). */
  protected resettableQueue(_index: number): boolean {
    return true;
  }

  /**
   * QueueReset of queue q as a driver does it (virtio 1.4 §2.6.1), checked against D10 of
   * docs/virtio-mmio-msi-v3.md through the registers: QueueReset reads 0 and QueueReady 0 at
   * once, the queue's target reads power-on, no message went out, the other targets and
   * MSI_ENABLE did not change. With `reenable`, the driver then sets the queue up on fresh rings
   * and, in a v3 mode, writes its target again (R5). The chains the driver had on the old ring
   * are its own again; their buffers are no longer the device's to write.
   */
  resetQueue(q: number, reenable: boolean): StepResult {
    const d = this.driver;
    const t = this.transport;
    const pq = t.msiPerQueue;
    const before = pq?.state() ?? null;
    const msiControl = pq ? d.read32("MsiControl") : 0;
    const sentBefore = d.msiWrites.length;
    const size = t.state().queues[q]?.size ?? 0;
    const resets = t.counters.queueResets;
    if (d.queueReset(q) !== 0) return `queue ${q}: QueueReset does not read 0 after the reset`;
    if (t.counters.queueResets !== resets + 1) return `queue ${q}: the reset was refused`;
    this.#inFlight.delete(q);
    d.write32("QueueSel", q);
    if (d.read32("QueueReady") !== 0) return `queue ${q}: QueueReady reads 1 after the reset`;
    if (d.msiWrites.length !== sentBefore) return `queue ${q}: the reset sent a message`;
    if (pq !== null && before !== null) {
      const regs = ["QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl"] as const;
      for (const r of regs) if (d.read32(r) !== 0) return `queue ${q}: ${r} reads ${d.read32(r)} after the reset, not its power-on 0 (D10)`;
      if (d.read32("MsiControl") !== msiControl) return `queue ${q}: MSI_ENABLE changed with the reset (D10)`;
      const after = pq.state();
      for (let x = 0; x < after.targets.length; x++) {
        if (x === 1 + q) continue;
        if (JSON.stringify(after.targets[x]) !== JSON.stringify(before.targets[x])) return `queue ${q}: the reset changed target ${x} (D10)`;
      }
    }
    this.harvestQueues();
    if (!reenable) return null;
    if (size > 0) d.reenableQueue(q, size);
    if (d.read32("QueueReady") !== 1) return `queue ${q}: could not be set up again after the reset`;
    if (pq !== null) {
      const data = this.mode === "per-queue-shared" ? testPqData(1) : testPqData(1 + q);
      d.setTarget(1 + q, TEST_MSI_ADDR, data);
      d.targetControl(1 + q, MSI_TARGET_CONTROL.ENABLE);
    }
    if (d.msiWrites.length !== sentBefore) return `queue ${q}: a message went out for the reset queue's discarded event (D10)`;
    this.harvestQueues();
    this.afterQueueReset(q);
    return null;
  }

  /** After a queue reset and its new set-up: the device rig's own bookkeeping of the queue. */
  protected afterQueueReset(_q: number): void {}

  protected wantConfig(): void {
    this.#wantConfig = true;
  }

  get #perQueue(): boolean {
    return this.mode === "per-queue" || this.mode === "per-queue-shared";
  }

  /**
   * The vector (or per-queue target, or the one shared per-queue pair) that carries queue q's
   * events in the current mode (-1 for config).
   */
  #vectorOf(event: number): number {
    if (this.mode === "per-queue-shared") return 1;
    if (event < 0) return 0;
    return this.mode === "shared" ? 1 : 1 + event;
  }

  /** MASK / UNMASK of vector or target `v` (every target with one shared pair), in the current mode. */
  #mask(v: number, on: boolean): void {
    const control = MSI_TARGET_CONTROL.ENABLE | (on ? MSI_TARGET_CONTROL.MASK : 0);
    if (this.mode === "per-queue-shared") for (let t = 0; t <= this.device.queueMaxSizes.length; t++) this.driver.targetControl(t, control);
    else if (this.mode === "per-queue") this.driver.targetControl(v, control);
    else this.driver.msiCommand(on ? MSI_CMD.MASK : MSI_CMD.UNMASK, v);
  }

  /** The data of vector or target `v`'s message in the driver's set-up of the current mode. */
  #data(v: number): number {
    return this.#perQueue ? testPqData(v) : testMsiData(v);
  }

  /**
   * How many messages UNMASK of `masked` must send: one for its vector or target if pending; with
   * one pair in every target, one per pending target (each target sends its own).
   */
  #pendingMessages(masked: number): number {
    const s = this.transport.state();
    if (this.mode === "per-queue-shared") return s.msiPerQueue!.targets.filter((t) => t.pending).length;
    const pending = this.mode === "per-queue" ? s.msiPerQueue!.targets[masked]!.pending : s.msi!.vectors[masked]!.pending;
    return pending ? 1 : 0;
  }

  #checkEvents(masked: number | null): StepResult {
    const d = this.driver;
    d.runTasks();
    const wanted = new Set<number>();
    for (const q of this.#wantQueues) wanted.add(this.#vectorOf(q));
    if (this.#wantConfig) wanted.add(this.#vectorOf(-1));
    if (this.mode === "none") {
      const bits = (this.#wantQueues.size > 0 ? INTERRUPT.USED_BUFFER : 0) | (this.#wantConfig ? INTERRUPT.CONFIG_CHANGE : 0);
      const status = d.read32("InterruptStatus");
      if (status !== bits) return `line: InterruptStatus ${status}, expected ${bits}`;
      if (bits !== 0 && !d.lineHigh) return "line: events pending but the line is low";
      if (bits !== 0) d.handleLineInterrupt();
      d.runTasks();
      if (d.lineHigh) return "line: still high after the ACK of everything";
      return null;
    }
    const got = new Set(this.sink.delivered.map((data) => data - this.#data(0)));
    this.sink.delivered.length = 0;
    for (const v of got) if (!wanted.has(v)) return `MSI on vector ${v}, which no event of this step uses`;
    for (const v of wanted) {
      if (v === masked) continue;
      if (!got.has(v)) return `no MSI on vector ${v} for this step's event`;
    }
    if (masked === null) return null;
    if (got.has(masked)) return `MSI on vector ${masked} while masked`;
    const messages = this.#pendingMessages(masked);
    if (messages > 0 !== wanted.has(masked)) return `vector ${masked}: pending ${messages > 0} after a masked step`;
    // Each event the step owes is one message with one pair per target; with shared targets,
    // at least one (events on several targets each send their own).
    if (this.mode === "per-queue-shared" && messages > this.#wantQueues.size + (this.#wantConfig ? 1 : 0)) {
      return `${messages} targets pending after a step that owed fewer events`;
    }
    this.#mask(masked, false);
    d.runTasks();
    const after = this.sink.delivered.splice(0);
    const expected = new Array<number>(messages).fill(this.#data(masked));
    if (after.length !== expected.length || after.some((x, i) => x !== expected[i])) {
      return `UNMASK of vector ${masked} sent [${after}], expected [${expected}]`;
    }
    return null;
  }

  /** Adds a chain and records where the device may write for it. */
  protected addChain(queue: number, spec: { readable?: Uint8Array[]; writable?: number[] }, indirect: boolean): AddedChain {
    const useIndirect = indirect && this.negotiated(FEATURE.INDIRECT_DESC);
    const readable = spec.readable ?? [];
    const writable = spec.writable ?? [];
    const free = this.driver.queues[queue]?.free.length ?? 0;
    if (!useIndirect && readable.length + writable.length > free) {
      // Too few descriptors for these pieces: one readable buffer, the writable ones but the
      // last in one (a request's status byte keeps its own buffer).
      const w = writable.length > 1 ? [writable.slice(0, -1).reduce((a, b) => a + b, 0), writable.at(-1)!] : writable;
      spec = { readable: readable.length > 1 ? [concatBytes(...readable)] : readable, writable: w };
    }
    const c = this.driver.addChain(queue, spec, { indirect: useIndirect });
    let byHead = this.#inFlight.get(queue);
    if (byHead === undefined) this.#inFlight.set(queue, (byHead = new Map()));
    byHead.set(c.head, c.writable.map((w) => [w.addr, w.addr + w.len] as const));
    return c;
  }

  /** takeUsed, forgetting the returned chains' buffers. */
  protected takeUsed(queue: number): { id: number; len: number }[] {
    const used = this.driver.takeUsed(queue);
    const byHead = this.#inFlight.get(queue);
    for (const u of used) byHead?.delete(u.id);
    return used;
  }

  /** Notify, run the tasks, take the used ring: exactly `chain` must come back with `len`. */
  protected async kickOne(queue: number, chain: AddedChain, len: number): Promise<StepResult> {
    this.driver.notify(queue);
    this.driver.runTasks();
    await this.settle();
    this.driver.runTasks();
    const used = this.takeUsed(queue);
    if (used.length !== 1 || used[0]!.id !== chain.head || used[0]!.len !== len) {
      return `queue ${queue}: used ${JSON.stringify(used)}, expected [{"id":${chain.head},"len":${len}}]`;
    }
    this.wantQueue(queue);
    return null;
  }

  /** The bytes the device wrote into a chain's writable buffers, in order. */
  protected writtenBytes(chain: AddedChain, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let at = 0;
    for (const w of chain.writable) {
      if (at >= len) break;
      const n = Math.min(w.len, len - at);
      out.set(this.driver.read(w.addr, n), at);
      at += n;
    }
    return out;
  }

  negotiated(bit: bigint): boolean {
    return (this.features & bit) !== 0n;
  }

  #allowedWrites(): (readonly [number, number])[] {
    const out: (readonly [number, number])[] = [];
    for (const q of this.driver.queues) if (q) out.push([q.used, q.used + 6 + 8 * q.size]);
    for (const byHead of this.#inFlight.values()) for (const ranges of byHead.values()) out.push(...ranges);
    return out;
  }

  // ---- invariants, checked after every operation ----

  /** Why the rig is in a state that must never happen, or null. */
  checkInvariants(): string | null {
    const t = this.transport;
    const damage = this.ram.damage();
    if (damage !== null) return `guard byte changed at RAM offset ${damage}`;
    if (this.memory.violations.length > 0) return this.memory.violations[0]!;
    if (this.sink.violations.length > 0) return this.sink.violations[0]!;
    if (t.counters.internalError !== 0) return "the transport caught an internal error";
    if (t.counters.deviceThrew !== 0) return "a device method threw";
    if (this.deviceInternalErrors() !== 0) return "the device counted an internal error";
    // The line: edges alternate; with MSI off it is high exactly while InterruptStatus is
    // non-zero, with MSI on it is low and InterruptStatus reads 0.
    const d = this.driver;
    for (const e of d.lineEvents) {
      if ((e === "raise") === this.#lineHigh) return `line ${e} while already ${this.#lineHigh ? "high" : "low"}`;
      this.#lineHigh = e === "raise";
    }
    d.lineEvents.length = 0;
    d.msiWrites.length = 0;
    const on = t.msiOn;
    if (on && (this.#lineHigh || t.interruptStatus !== 0)) return `MSI on, but line ${this.#lineHigh ? "high" : "low"}, InterruptStatus ${t.interruptStatus}`;
    if (!on && (t.interruptStatus !== 0) !== this.#lineHigh) {
      return `InterruptStatus ${t.interruptStatus} but the line is ${this.#lineHigh ? "high" : "low"}`;
    }
    // At most one MSI mode; an unmasked (and, per queue, enabled) vector or target with a usable
    // address holds nothing: whatever made it sendable sent it.
    if (on) {
      const pq = t.msiPerQueue?.enabled ? t.msiPerQueue.state().targets : null;
      const list = pq ?? t.msi!.state().vectors.map((v) => ({ ...v, enabled: true }));
      const v = list.findIndex((x) => x.pending && x.enabled && !x.masked && x.addrHigh === 0 && x.addrLow !== 0);
      if (v >= 0) return `${pq ? "target" : "vector"} ${v} pending while it could send`;
    }
    const lost = this.ledger.check(this.#lineHigh);
    if (lost !== null) return lost;
    if (this.#queueWrites() !== this.#statusWritesSeen) this.harvestQueues();
    // push() with a bad length or a foreign chain is the device's bug, never the guest's.
    for (const c of this.#liveCounters) if (c.badPush !== 0) return `the device pushed a bad used element (badPush ${c.badPush})`;
    return null;
  }

  /**
   * A delivered message must come from the MSI mode that is on and match an unmasked vector of
   * the table, or an enabled, unmasked target of the v3 layout.
   */
  #checkMsi(addr: number, data: number): string | null {
    const t = this.transport;
    const what = `MSI ${addr.toString(16)}/${data}`;
    const matches = (x: { masked: boolean; addrHigh: number; addrLow: number; data: number }) =>
      !x.masked && x.addrHigh === 0 && x.addrLow === addr && x.data === data;
    if (t.msiPerQueue?.enabled) {
      return t.msiPerQueue.state().targets.some((x) => x.enabled && matches(x)) ? null : `${what} matches no enabled, unmasked target`;
    }
    const msi = t.msi?.state() ?? null;
    if (msi === null || !msi.enabled) return `${what} sent while MSI is disabled`;
    return msi.vectors.some(matches) ? null : `${what} matches no unmasked vector`;
  }

  /**
   * Folds the counters of queues that a reset ended into the totals and picks up the new ones.
   * Queues appear at DRIVER_OK and after a queue reset's QueueReady, and vanish at a reset or
   * a queue reset.
   */
  harvestQueues(): void {
    this.#statusWritesSeen = this.#queueWrites();
    const now = this.transport.state().queues.flatMap((q) => (q.live ? [q.live.counters] : []));
    for (const old of this.#liveCounters) if (!now.includes(old)) this.#fold(old);
    this.#liveCounters = now;
  }

  /** Writes that can start or end a running queue: Status, QueueReset and QueueReady (after a queue reset). */
  #queueWrites(): number {
    const w = this.transport.counters.writes;
    return w.Status + w.QueueReset + w.QueueReady;
  }

  #fold(c: SplitQueueCounters): void {
    for (const [k, v] of Object.entries(c.errors)) this.queueErrors[k] = (this.queueErrors[k] ?? 0) + v;
    this.queueErrors.badPush = (this.queueErrors.badPush ?? 0) + c.badPush;
  }

  /** Queue error totals including the live queues. */
  allQueueErrors(): Record<string, number> {
    const out = { ...this.queueErrors };
    for (const c of this.#liveCounters) {
      for (const [k, v] of Object.entries(c.errors)) out[k] = (out[k] ?? 0) + v;
      out.badPush = (out.badPush ?? 0) + c.badPush;
    }
    return out;
  }

  /** Every guest mistake any layer counted so far. */
  guestErrors(): number {
    let n = this.deviceGuestErrors() + this.memory.counters.refusedReads + this.memory.counters.refusedWrites;
    for (const v of Object.values(this.transport.counters.errors)) n += v;
    const m = this.transport.msi?.counters;
    if (m) n += m.badCommand + m.badVector + m.badQueue + m.mapInFixedMode + m.addrHighNonZero;
    const pq = this.transport.msiPerQueue?.counters;
    if (pq) n += pq.badControl + pq.addrHighNonZero;
    for (const q of this.transport.state().queues) {
      if (q.live === null) continue;
      for (const v of Object.values(q.live.counters.errors as SplitQueueErrors)) n += v;
    }
    return n;
  }

  #errorSummary(): string {
    const e = Object.entries(this.transport.counters.errors).filter(([, v]) => v > 0);
    return JSON.stringify({ transport: Object.fromEntries(e), lastError: this.transport.state().lastError });
  }
}
