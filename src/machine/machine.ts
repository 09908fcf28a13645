// Our own v86 machine (the page, the `guest` command, the tests, the benchmarks): it builds the
// V86 from images (src/platform/build-v86.ts, the builder the tests use too), attaches the devices through attachVirtioMmio (attach.ts, the code anyone's
// V86 uses too) at the default placement, and adds what our front ends want besides: the
// serial console as text, the channel yield in a page, save and restore. The same code runs in
// the browser and under Node; callers pass images as ArrayBuffers.

import type { VirtioDevice } from "../virtio/interfaces.ts";
import type { RamMemory } from "../virtio/ram-memory.ts";
import { DEFAULT_MMIO_BASE, DEFAULT_MMIO_IRQS, virtioMmioCmdline } from "../firmware/mmio-placement.ts";
import { attachVirtioMmio, type AttachFault, type AttachMsiOptions, type AttachedDevice } from "../platform/attach.ts";
import { buildV86, type V86Images } from "../platform/build-v86.ts";
import { checkBzImage } from "../platform/bzimage-check.ts";
import type { LocalApicState } from "../platform/local-apic.ts";
import { memoryProblem } from "../platform/machine-limits.ts";
import type { MmioBus } from "../platform/mmio-bus.ts";
import type { MsiRouter } from "../platform/msi-router.ts";
import type { TaskQueue } from "../platform/task-queue.ts";
import type { BatchEnd } from "../platform/v86/batch-end.ts";
import { instructionCount, mainLoopOf, probeV86, type V86Cpu, type V86Emulator } from "../platform/v86/internals.ts";
import { patchReports, type PatchReport, type V86Patch } from "../platform/v86/patch.ts";
import { SerialInput, serialInputOf } from "../platform/v86/serial-input.ts";
import { ChannelYield, type TickYieldCounters, type V86MainLoop } from "../platform/v86/tick-yield.ts";

export type { AttachedDevice } from "../platform/attach.ts";

/** The host's timers, present in pages and under Node (the core's typings name neither). */
const timers = globalThis as unknown as { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };
export type MachineMsiOptions = AttachMsiOptions;
export type MachineFault = AttachFault;

/** Where our device windows live (src/firmware/mmio-placement.ts). */
export const DEVICE_BLOCK_BASE = DEFAULT_MMIO_BASE;
/** IO-APIC inputs for our devices (src/firmware/mmio-placement.ts says why these). */
export const DEVICE_IRQS = DEFAULT_MMIO_IRQS;

export type MachineImages = V86Images;

export interface MachineOptions {
  images: MachineImages;
  /** Where v86.wasm is: a URL in the browser, a file path under Node. */
  wasmPath: string;
  /**
   * Instead of v86 fetching `wasmPath` itself: instantiates v86's wasm with the imports given,
   * resolving with its exports (v86's `wasm_fn`), e.g. from a module the page compiled at start.
   */
  instantiateWasm?: (imports: Record<string, unknown>) => Promise<unknown>;
  memoryMB: number;
  /** The kernel command line before the device announcements are added. */
  cmdline: string;
  devices: readonly VirtioDevice[];
  /** MSI for every device (the transport offers VIRTIO_F_MMIO_MSI), or false for the line only. */
  msi: MachineMsiOptions | false;
  /** Extra v86 options (for example net_device). */
  v86Options?: Record<string, unknown>;
  /**
   * In a page, give v86's main loop its immediate turns through a MessageChannel instead of
   * its worker round trip (tick-yield.ts). Default true; false keeps v86's own, to compare.
   */
  channelYield?: boolean;
  /** End v86's batch when the guest's access queued device work (AttachOptions.endBatchOnWork). Default true. */
  endBatchOnWork?: boolean;
  /**
   * Start from a saved machine instead of booting: v86's state (Machine.saveV86State of a
   * machine built with the same memory, devices and options), then `devices` puts our
   * devices' states in place, before the first instruction runs.
   */
  restore?: { readonly v86State: ArrayBuffer; readonly devices: (machine: Machine) => void };
}

/** `virtio_mmio.device=<size>@<base>:<irq>` for each device at our default placement. */
export function deviceCmdline(count: number): string {
  return virtioMmioCmdline({ count });
}

export class Machine {
  readonly emulator: V86Emulator;
  readonly cpu: V86Cpu;
  readonly cmdline: string;
  readonly mmio: MmioBus;
  readonly tasks: TaskQueue;
  /** Batches ended early for device work (null when `endBatchOnWork` is false). */
  readonly batchEnd: BatchEnd | null;
  /** How v86's main loop got its turns in a page (null: v86's own way, or under Node). */
  readonly tickYield: TickYieldCounters | null;
  readonly apic: LocalApicState;
  readonly msiRouter: MsiRouter;
  readonly memory: RamMemory;
  readonly devices: readonly AttachedDevice[];
  /** Our bugs, contained (attach.ts), and a channel yield v86 refused; the newest 100. */
  readonly faults: readonly MachineFault[];
  /** The channel yield (null: `channelYield: false`); in a page it is live unless refused. */
  readonly channelYield: ChannelYield | null;
  /** Every patch of v86 this machine made (attach's and the channel yield). */
  readonly patches: readonly V86Patch[];
  /** Keys to the first serial port (v86/serial-input.ts: a terminal's answer travels alone). */
  readonly serialInput: SerialInput;
  readonly startedAt = Date.now();
  #serialPoll: unknown = null;
  #serialListeners = new Set<(text: string) => void>();
  #decoder = new TextDecoder();
  #stopped = false;

  readonly #detach: () => void;

  private constructor(emulator: V86Emulator, cmdline: string, options: MachineOptions) {
    this.emulator = emulator;
    this.cmdline = cmdline;
    this.cpu = probeV86(emulator);
    const attached = attachVirtioMmio(emulator, {
      devices: options.devices,
      msi: options.msi,
      ...(options.endBatchOnWork === undefined ? {} : { endBatchOnWork: options.endBatchOnWork }),
    });
    this.channelYield = options.channelYield === false ? null : new ChannelYield(mainLoopOf(emulator) as Partial<V86MainLoop>);
    this.channelYield?.install();
    this.tickYield = this.channelYield?.installed ? this.channelYield.counters : null;
    ({ mmio: this.mmio, tasks: this.tasks, batchEnd: this.batchEnd, apic: this.apic, msiRouter: this.msiRouter, memory: this.memory } = attached);
    this.devices = attached.devices;
    this.faults = attached.faults;
    // A refused channel yield is a fault: the page then runs with v86's worker round trip.
    if (this.channelYield?.refused) (attached.faults as MachineFault[]).push({ where: "channel-yield", error: new Error(this.channelYield.refused) });
    this.serialInput = serialInputOf(this.cpu);
    this.serialInput.install();
    this.patches = [...attached.patches, ...(this.channelYield ? [this.channelYield] : []), this.serialInput];
    this.#detach = () => attached.detach();

    // One byte per event: decode from one reused array (the decoder keeps partial characters itself).
    const oneByte = new Uint8Array(1);
    emulator.add_listener("serial0-output-byte", (byte: number) => {
      oneByte[0] = byte;
      const text = this.#decoder.decode(oneByte, { stream: true });
      if (text) for (const listener of this.#serialListeners) listener(text);
    });
  }

  /** Creates the emulator, attaches the devices before the first instruction runs, starts it. */
  static async create(options: MachineOptions): Promise<Machine> {
    if (options.devices.length > DEVICE_IRQS.length) {
      throw new Error(`at most ${DEVICE_IRQS.length} devices (one free interrupt line each)`);
    }
    // The doors' checks once more for callers that skipped them: v86 throws or hangs otherwise.
    const memory = memoryProblem(options.memoryMB);
    if (memory !== null) throw new Error(memory);
    const memorySize = options.memoryMB * 1024 * 1024;
    const initrdSize = options.images.initrd?.byteLength ?? 0;
    // v86 places the initrd at 64 MiB.
    if (memorySize <= 64 * 1024 * 1024 + initrdSize) {
      throw new Error(`memory ${options.memoryMB} MB is too small: the initrd is loaded at 64 MiB`);
    }
    const cmdline = [options.cmdline, deviceCmdline(options.devices.length)].filter(Boolean).join(" ");
    const kernel = checkBzImage(options.images.kernel, cmdline);
    if ("problem" in kernel) throw new Error(kernel.problem);
    const emulator = await buildV86({
      images: options.images,
      wasmPath: options.wasmPath,
      ...(options.instantiateWasm ? { instantiateWasm: options.instantiateWasm } : {}),
      memoryMB: options.memoryMB,
      cmdline,
      ...(options.v86Options ? { v86Options: options.v86Options } : {}),
    });
    let machine: Machine;
    try {
      machine = new Machine(emulator, cmdline, options);
    } catch (error) {
      // A refused v86 (see probeV86, verifyApicLayout) must not keep its wasm instance alive.
      await emulator.destroy();
      throw error;
    }
    if (options.restore) {
      try {
        await emulator.restore_state(options.restore.v86State);
        machine.serialInput.afterRestore();
        options.restore.devices(machine);
      } catch (error) {
        await emulator.destroy();
        throw error;
      }
    }
    await emulator.run();
    return machine;
  }

  /**
   * Stops the emulator and returns v86's state (CPU, RAM, its own devices). Our devices' states
   * are the caller's (src/machine/device-states.ts), taken while it stays stopped.
   */
  async saveV86State(): Promise<ArrayBuffer> {
    await this.emulator.stop();
    return this.emulator.save_state();
  }

  /** Each patch of v86: name, installed, and its self-check's findings now. */
  patchReport(): PatchReport[] {
    return patchReports(this.patches);
  }

  /** Instructions the guest has run (v86's counter). */
  get instructions(): number {
    return instructionCount(this.cpu);
  }

  onSerial(listener: (text: string) => void): () => void {
    this.#serialListeners.add(listener);
    return () => this.#serialListeners.delete(listener);
  }

  sendSerial(text: string): void {
    this.serialInput.send(text);
    this.#pollSerial();
  }

  /** While input waits for the guest, look again every millisecond (the guest runs meanwhile). */
  #pollSerial(): void {
    if (this.#serialPoll !== null || !this.serialInput.waiting || this.#stopped) return;
    this.#serialPoll = timers.setTimeout(() => {
      this.#serialPoll = null;
      this.serialInput.pump();
      this.#pollSerial();
    }, 1);
  }

  /**
   * Lets the running guest take every key sent so far (ours and v86's UART queue, which v86's
   * state does not hold), so a state saved next loses none. Resolves with the bytes still
   * pending (0, unless the guest did not read its serial port for 200 M instructions, or the
   * machine is paused).
   */
  async deliverSerialInput(): Promise<number> {
    if (!this.emulator.is_running()) return this.serialInput.pending;
    return this.serialInput.drain(() => new Promise((resolve) => void timers.setTimeout(resolve, 1)));
  }

  get running(): boolean {
    return !this.#stopped && this.emulator.is_running();
  }

  async pause(): Promise<void> {
    await this.emulator.stop();
  }

  async resume(): Promise<void> {
    await this.emulator.run();
  }

  async destroy(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#serialPoll !== null) timers.clearTimeout(this.#serialPoll);
    await this.emulator.stop();
    this.#detach();
    await this.emulator.destroy();
  }
}
