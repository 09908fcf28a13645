// A v86 machine with our virtio-mmio devices attached: the one place that knows both v86's
// internals and our device stack. The same code runs in the browser and under Node; callers
// pass images as ArrayBuffers and read the console through `onSerial`.

import { V86 } from "v86";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { MmioTransport } from "../virtio/mmio-transport.ts";
import { RamMemory } from "../virtio/ram-memory.ts";
import { InterruptGate } from "./interrupt-gate.ts";
import { IrqLine } from "./irq-line.ts";
import { apicProbeOf, verifyApicLayout } from "./apic-layout.ts";
import { APIC_STRUCT_WORDS, LocalApicState } from "./local-apic.ts";
import { MMIO_WINDOW_SIZE, MmioBus } from "./mmio-bus.ts";
import { MsiRouter } from "./msi-router.ts";
import { HOOK_SILENT_AFTER, TaskQueue, hostTaskArm } from "./task-queue.ts";
import { FLAG_INTERRUPT, V86_VERSION, probeV86, type V86Cpu, type V86Emulator } from "./v86-internals.ts";
import { WasmWordsView } from "./wasm-view.ts";
import { installChannelYield, type TickYieldCounters, type V86MainLoop } from "./tick-yield.ts";

/** Where our device windows live: a free 128 KiB block below v86's VGA LFB (0xE0000000). */
export const DEVICE_BLOCK_BASE = 0xd0000000;
/**
 * IO-APIC inputs for our devices. v86's ACPI tables make 5, 10 and 11 level-triggered (MADT
 * overrides); 7 keeps the ISA default, edge-triggered. 10 and 11 are also the PCI links of
 * v86's inert NE2000, which we give no driver.
 */
export const DEVICE_IRQS = [5, 10, 11, 7] as const;

export interface MachineImages {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
  kernel: ArrayBuffer;
  initrd?: ArrayBuffer;
}

export interface MachineOptions {
  images: MachineImages;
  /** Where v86.wasm is: a URL in the browser, a file path under Node. */
  wasmPath: string;
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
  /**
   * Start from a saved machine instead of booting: v86's state (Machine.saveV86State of a
   * machine built with the same memory, devices and options), then `devices` puts our
   * devices' states in place, before the first instruction runs.
   */
  restore?: { readonly v86State: ArrayBuffer; readonly devices: (machine: Machine) => void };
}

export interface MachineMsiOptions {
  /** Ask the driver to map events to vectors itself (MsiState.msi_sharing). Default false. */
  sharing?: boolean;
  /** Vectors per device. Default: one per queue plus one for config changes. */
  vectors?: number;
  /** Tests only: allow a fixed mapping with too few vectors (MsiTableOptions.allowShortFixedTable). */
  allowShortFixedTable?: boolean;
  /**
   * The devices also offer the per-queue mode (docs/virtio-mmio-msi.md, "The per-queue mode"),
   * which our driver prefers. Default true; the table is offered unchanged either way.
   */
  perQueue?: boolean;
  /** MsiPqHint: distinct address/data pairs the device would like. Default 1 + queues. */
  pairsHint?: number;
}

export interface AttachedDevice {
  readonly device: VirtioDevice;
  readonly transport: MmioTransport;
  readonly line: IrqLine;
  readonly address: number;
  readonly irq: number;
}

export interface MachineFault {
  readonly where: string;
  readonly error: unknown;
}

/** `virtio_mmio.device=<size>@<base>:<irq>` for each device, as Linux's cmdline parser reads it. */
export function deviceCmdline(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const address = DEVICE_BLOCK_BASE + i * MMIO_WINDOW_SIZE;
    parts.push(`virtio_mmio.device=0x${MMIO_WINDOW_SIZE.toString(16)}@0x${address.toString(16)}:${DEVICE_IRQS[i]}`);
  }
  return parts.join(" ");
}

export class Machine {
  readonly emulator: V86Emulator;
  readonly cpu: V86Cpu;
  readonly cmdline: string;
  readonly mmio: MmioBus;
  readonly tasks: TaskQueue;
  /** How v86's main loop got its turns in a page (null: v86's own way, or under Node). */
  readonly tickYield: TickYieldCounters | null;
  readonly apic: LocalApicState;
  readonly msiRouter: MsiRouter;
  readonly memory: RamMemory;
  readonly devices: readonly AttachedDevice[];
  readonly faults: MachineFault[] = [];
  readonly startedAt = Date.now();
  #serialListeners = new Set<(text: string) => void>();
  #decoder = new TextDecoder();
  #stopped = false;

  private constructor(emulator: V86Emulator, cmdline: string, options: MachineOptions) {
    this.emulator = emulator;
    this.cmdline = cmdline;
    this.cpu = probeV86(emulator);
    const cpu = this.cpu;
    this.tickYield = options.channelYield === false ? null : installChannelYield(emulator.v86 as Partial<V86MainLoop>);
    const fault = (where: string) => (error: unknown) => {
      this.faults.push({ where, error });
      if (this.faults.length > 100) this.faults.shift();
    };

    // Refuse a v86 whose APIC struct is not where the MSI router writes (before any instruction
    // runs, while every word still holds its power-on value). The view is made once and again
    // only when the wasm memory grows.
    const apicView = new WasmWordsView(cpu.wasm_memory, cpu.get_apic_addr(), APIC_STRUCT_WORDS);
    verifyApicLayout(apicProbeOf(cpu, apicView.words), V86_VERSION);

    let hookFaulted = false;
    const onHookSilent = () => {
      if (hookFaulted || !this.running) return;
      hookFaulted = true;
      fault("timer-hook")(
        new Error(
          `v86 has not called cpu.run_hardware_timers during the last ${HOOK_SILENT_AFTER} host-task drains that found work: ` +
            "our replacement is not being called (a v86 that binds its wasm imports once?), so deferred device work " +
            "only runs from host tasks, later than it should",
        ),
      );
    };
    this.tasks = new TaskQueue(hostTaskArm(), fault("task"), { onHookSilent });
    // Drain deferred work between batches of guest instructions, outside any instruction. v86's
    // wasm calls run_hardware_timers through an import that looks the method up on the CPU each
    // time; the task queue counts the calls and reports when they stop.
    const runTimers = cpu.run_hardware_timers.bind(cpu);
    cpu.run_hardware_timers = (acpiEnabled, now) => {
      this.tasks.drainFromHook();
      return runTimers(acpiEnabled, now);
    };

    this.mmio = new MmioBus(DEVICE_BLOCK_BASE, fault("mmio"));
    this.apic = new LocalApicState(() => apicView.words, () => cpu.handle_irqs());
    // The one rule for when the CPU may take an interrupt (docs/virtio-mmio-msi.md, "When an
    // interrupt reaches the CPU"): not inside the guest's own MMIO access with IF set, else at
    // once. It governs the poke after an MSI (at once also wakes a halted CPU now instead of one
    // host task later: that hop cost the browser up to 40 % of its disk throughput against the
    // line) and every line move. this.mmio exists by the time anything asks.
    const gate = new InterruptGate({
      inGuestAccess: () => this.mmio.inGuestAccess,
      interruptsEnabled: () => (cpu.flags[0]! & FLAG_INTERRUPT) !== 0,
      later: (fn) => this.tasks.schedule(fn),
    });
    this.msiRouter = new MsiRouter(this.apic, (poke) => gate.run(poke));
    this.memory = new RamMemory(() => cpu.mem8, {
      onWrite: (start, end) => cpu.jit_dirty_cache(start, end),
      busWrite: (addr, value) => this.msiRouter.write(addr, value),
    });

    const schedule = (fn: () => void) => this.tasks.schedule(fn);
    this.devices = options.devices.map((device, slot) => {
      const irq = DEVICE_IRQS[slot]!;
      const line = new IrqLine(cpu, irq, gate);
      const msi = options.msi && {
        vectors: options.msi.vectors ?? device.queueMaxSizes.length + 1,
        sharing: options.msi.sharing ?? false,
        allowShortFixedTable: options.msi.allowShortFixedTable ?? false,
        perQueue: options.msi.perQueue ?? true,
        pairsHint: options.msi.pairsHint ?? device.queueMaxSizes.length + 1,
      };
      const transport = new MmioTransport({ device, memory: this.memory, line, schedule, msi });
      const address = this.mmio.attach(slot, transport);
      return { device, transport, line, address, irq };
    });
    this.mmio.register(cpu.io);

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
    const memorySize = options.memoryMB * 1024 * 1024;
    const initrdSize = options.images.initrd?.byteLength ?? 0;
    // v86 places the initrd at 64 MiB.
    if (memorySize <= 64 * 1024 * 1024 + initrdSize) {
      throw new Error(`memory ${options.memoryMB} MB is too small: the initrd is loaded at 64 MiB`);
    }
    const cmdline = [options.cmdline, deviceCmdline(options.devices.length)].filter(Boolean).join(" ");
    const { images } = options;
    const emulator = new V86({
      wasm_path: options.wasmPath,
      bios: { buffer: images.bios },
      vga_bios: { buffer: images.vgaBios },
      bzimage: { buffer: images.kernel },
      ...(images.initrd ? { initrd: { buffer: images.initrd } } : {}),
      cmdline,
      memory_size: memorySize,
      vga_memory_size: 2 * 1024 * 1024,
      acpi: true,
      autostart: false,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
      ...options.v86Options,
    } as ConstructorParameters<typeof V86>[0]) as unknown as V86Emulator;
    await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
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

  onSerial(listener: (text: string) => void): () => void {
    this.#serialListeners.add(listener);
    return () => this.#serialListeners.delete(listener);
  }

  sendSerial(text: string): void {
    this.emulator.serial0_send(text);
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
    await this.emulator.stop();
    await this.emulator.destroy();
  }
}
