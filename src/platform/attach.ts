// Our virtio-mmio devices in a V86 built by anyone with the unmodified `v86` package: the one
// place that wires them into v86's internals (MMIO dispatch, interrupt pins, local APIC, the
// timer hook). Machine (machine.ts) is a thin layer over it for our own page and tools.

import type { VirtioDevice } from "../virtio/interfaces.ts";
import { MmioTransport, type MmioTransportOptions } from "../virtio/mmio-transport.ts";
import { RamMemory } from "../virtio/ram-memory.ts";
import { initrdAcpiTables } from "./acpi-initrd.ts";
import { virtioMmioAcpiTable } from "./acpi-ssdt.ts";
import { apicProbeOf, verifyApicLayout } from "./apic-layout.ts";
import { BatchEnd } from "./batch-end.ts";
import { InterruptGate } from "./interrupt-gate.ts";
import { IrqLine } from "./irq-line.ts";
import { APIC_STRUCT_WORDS, LocalApicState } from "./local-apic.ts";
import { MmioBus } from "./mmio-bus.ts";
import { DEFAULT_MMIO_BASE, checkPlacement, placeWindows, v86TakenIrqs, virtioMmioCmdline, type MmioPlacement } from "./mmio-placement.ts";
import { MsiRouter } from "./msi-router.ts";
import { HOOK_SILENT_AFTER, TaskQueue, hostTaskArm } from "./task-queue.ts";
import { FLAG_INTERRUPT, V86_VERSION, probeV86, type V86Cpu, type V86Emulator, type V86MessageBus } from "./v86-internals.ts";
import { WasmWordsView, cachedView } from "./wasm-view.ts";
import type { MsiLayout } from "./guest-cmdline.ts";

export interface AttachMsiOptions {
  /**
   * The MSI register layout the devices offer. "v3" (the default): per-queue address/data pairs
   * at 0x0c4-0x0e8 under the provisional feature bit 49, beside virtio 1.4's RING_RESET
   * (docs/virtio-mmio-msi-v3.md). "2020": the 2020 proposal's vector table under bit 40
   * (docs/virtio-mmio-msi.md), never offered with RING_RESET; our driver reads it only when
   * booted with `virtio_mmio.msi_layout=2020` (msiLayoutCmdline).
   */
  layout?: MsiLayout;
  /** v3: MsiVectorHint, the distinct messages the device would like. Default 1 + queues. */
  hint?: number;
  /** 2020: ask the driver to map events to vectors itself (MsiState.msi_sharing). Default false. */
  sharing?: boolean;
  /** 2020: vectors per device. Default: one per queue plus one for config changes. */
  vectors?: number;
  /** 2020, tests only: allow a fixed mapping with too few vectors (MsiTableOptions.allowShortFixedTable). */
  allowShortFixedTable?: boolean;
}

export interface AttachOptions {
  devices: readonly VirtioDevice[];
  /** MSI for every device (the transport offers VIRTIO_F_MMIO_MSI; needs acpi: true), or false for the line only. */
  msi: AttachMsiOptions | false;
  /** The 128 KiB aligned block for the windows (default DEFAULT_MMIO_BASE). */
  base?: number;
  /** One IO-APIC input per device (default DEFAULT_MMIO_IRQS). */
  irqs?: readonly number[];
  /**
   * End v86's batch of guest instructions when the guest's register access queued device work
   * (a QueueNotify), so the work and its interrupt come at once instead of after up to 100,000
   * more guest instructions (batch-end.ts). Default true; false keeps v86's own batches (the
   * benchmark's comparison).
   */
  endBatchOnWork?: boolean;
  /**
   * How the guest's kernel learns where the devices are. "cmdline" (the default): the
   * `virtio_mmio.device=` arguments, which the V86's cmdline must hold (a kernel with
   * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). "acpi": an SSDT in the initrd (virtioMmioAcpiTable +
   * prependAcpiTable; a kernel with ACPI, CONFIG_ACPI_TABLE_UPGRADE and virtio_mmio, as
   * distribution kernels are), which the V86's initrd must carry; the arguments are not needed.
   */
  discovery?: "cmdline" | "acpi";
}

export interface AttachedDevice {
  readonly device: VirtioDevice;
  readonly transport: MmioTransport;
  readonly line: IrqLine;
  readonly address: number;
  readonly irq: number;
}

export interface AttachFault {
  readonly where: string;
  readonly error: unknown;
}

export interface VirtioMmioAttachment {
  readonly devices: readonly AttachedDevice[];
  readonly mmio: MmioBus;
  readonly msiRouter: MsiRouter;
  readonly apic: LocalApicState;
  /** Guest RAM as the devices see it. */
  readonly memory: RamMemory;
  /** Deferred device work, drained between batches of guest instructions. */
  readonly tasks: TaskQueue;
  /** Batches ended early because an access queued work (null with `endBatchOnWork: false`). */
  readonly batchEnd: BatchEnd | null;
  /**
   * v86's device-side bus (`emulator.emulator_bus`, not in its public typings), where a
   * V86BusBackend joins the NIC to v86's network adapter: `backend.attach(attached.emulatorBus)`.
   */
  readonly emulatorBus: V86MessageBus;
  /** The `virtio_mmio.device=` arguments this placement needs (what virtioMmioCmdline gave). */
  readonly cmdline: string;
  /**
   * Whether the emulator's kernel command line was found (a bzImage v86 loaded itself) and
   * holds `cmdline`; false when v86 boots a disk, whose bootloader must pass the arguments.
   */
  readonly cmdlineChecked: boolean;
  /**
   * With discovery "acpi": whether the emulator's initrd (v86 loaded a bzImage and an initrd
   * itself) was found to carry acpiTable() where Linux looks for it. False otherwise.
   */
  readonly acpiTableChecked: boolean;
  /**
   * The SSDT describing this placement (what virtioMmioAcpiTable gives for it): a fresh copy,
   * for a kernel that finds the devices through ACPI.
   */
  acpiTable(): Uint8Array;
  /** Our bugs, contained (a device handler that threw, a task that failed); the newest 100. */
  readonly faults: readonly AttachFault[];
  /**
   * Takes the devices off the machine: the windows answer as empty slots, the lines go low and
   * v86's timer hook is its own again. v86 cannot unmap a block, so the block stays ours.
   */
  detach(): void;
}

/** Where v86 puts a bzImage's real-mode header, and the command line (0.5.462, its kernel.js). */
const REAL_MODE_HEADER = 0x80000;
const CMD_LINE_PTR = 0x228;
const HDRS_MAGIC = 0x53726448;

const RAMDISK_IMAGE = 0x218;
const RAMDISK_SIZE = 0x21c;

/** The initrd v86 loaded with a bzImage (a view of guest RAM), or null when it loaded none. */
function bzImageInitrd(mem8: Uint8Array): Uint8Array | null {
  if (mem8.length < REAL_MODE_HEADER + 0x1000) return null;
  const view = new DataView(mem8.buffer, mem8.byteOffset, mem8.byteLength);
  if (view.getUint32(REAL_MODE_HEADER + 0x202, true) !== HDRS_MAGIC) return null;
  const at = view.getUint32(REAL_MODE_HEADER + RAMDISK_IMAGE, true);
  const size = view.getUint32(REAL_MODE_HEADER + RAMDISK_SIZE, true);
  if (at === 0 || size === 0 || at + size > mem8.length) return null;
  return mem8.subarray(at, at + size);
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The command line v86 wrote for a bzImage, or null when it loaded none. */
function bzImageCmdline(mem8: Uint8Array): string | null {
  if (mem8.length < REAL_MODE_HEADER + 0x1000) return null;
  const view = new DataView(mem8.buffer, mem8.byteOffset, mem8.byteLength);
  if (view.getUint32(REAL_MODE_HEADER + 0x202, true) !== HDRS_MAGIC) return null;
  const at = view.getUint32(REAL_MODE_HEADER + CMD_LINE_PTR, true);
  if (at === 0 || at >= REAL_MODE_HEADER + 0x10000) return null;
  const end = mem8.indexOf(0, at);
  return String.fromCharCode(...mem8.subarray(at, end < 0 ? Math.min(at + 4096, mem8.length) : end));
}

/**
 * Attaches `devices` to an emulator made with the `v86` package (`new V86({...})`), after its
 * "emulator-loaded" event and before its first instruction: create it with `autostart: false`,
 * attach, then `emulator.run()`. A guest that has already run found no devices at boot, so an
 * emulator whose instruction counter is not zero is refused.
 *
 * Linux finds the devices from its command line, and v86 writes the command line into guest
 * memory when the emulator is built: compute the arguments first with
 * `virtioMmioCmdline({ count, base, irqs })`, add them to the V86's `cmdline`, and give the same
 * `base` and `irqs` here. Attach checks the emulator's command line holds them (when v86 loaded
 * a bzImage itself). Any kernel with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES drives the devices on
 * their interrupt line; a kernel with our driver patch (guest/patches/) uses MSI, which needs
 * the V86 made with `acpi: true` (v86 has a local APIC only then).
 *
 * A kernel without that option (most distribution kernels) finds them through ACPI instead:
 * with `discovery: "acpi"`, build the V86's initrd as
 * `prependAcpiTable(virtioMmioAcpiTable({ count, base, irqs }), yourInitrd)` (acpi: true, and
 * virtio_mmio, built in or loaded from the initramfs); attach checks the initrd carries it.
 *
 * Throws, naming every problem, when the placement cannot work in this emulator: MSI without
 * ACPI, a block over RAM or v86's own regions, an IRQ v86's devices drive, too many devices.
 */
export function attachVirtioMmio(emulator: unknown, options: AttachOptions): VirtioMmioAttachment {
  const v86 = emulator as V86Emulator;
  const cpu = probeV86(v86);
  const ran = cpu.instruction_counter[0]! >>> 0;
  if (ran !== 0) {
    throw new Error(
      `attachVirtioMmio: the emulator has already run ${ran} instructions; attach before its first one ` +
        "(create the V86 with autostart: false, attach on emulator-loaded, then call run())",
    );
  }
  const placement: MmioPlacement = { count: options.devices.length, base: options.base, irqs: options.irqs };
  const acpi = cpu.acpi_enabled[0] === 1;
  const problems = checkPlacement(
    placement,
    {
      memorySize: cpu.memory_size[0]! >>> 0,
      vgaMemorySize: (cpu.devices.vga as { vga_memory_size?: number } | undefined)?.vga_memory_size ?? 0,
      acpi,
      takenIrqs: v86TakenIrqs({ acpi, devices: cpu.devices }),
    },
    options.msi !== false,
  );
  const cmdline = problems.length === 0 ? virtioMmioCmdline(placement) : "";
  const table = problems.length === 0 ? virtioMmioAcpiTable(placement) : new Uint8Array(0);
  const acpiDiscovery = options.discovery === "acpi";
  if (acpiDiscovery && !acpi) problems.push("discovery acpi needs v86's ACPI tables and IO-APIC: create the V86 with acpi: true");
  const written = bzImageCmdline(cpu.mem8);
  let acpiTableChecked = false;
  if (acpiDiscovery && written !== null && problems.length === 0) {
    const initrd = bzImageInitrd(cpu.mem8);
    acpiTableChecked = initrd !== null && initrdAcpiTables(initrd).some((t) => sameBytes(t.table, table));
    if (!acpiTableChecked) {
      problems.push(
        initrd === null
          ? "discovery is acpi but the emulator has no initrd: pass prependAcpiTable(virtioMmioAcpiTable(...), yourInitrd) as the V86's initrd"
          : "the emulator's initrd does not begin with this placement's SSDT: pass prependAcpiTable(virtioMmioAcpiTable(...), yourInitrd) as the V86's initrd",
      );
    }
  }
  if (!acpiDiscovery && written !== null && problems.length === 0) {
    const words = new Set(written.split(/\s+/));
    const missing = cmdline.split(" ").filter((arg) => arg && !words.has(arg));
    if (missing.length) {
      problems.push(
        `the emulator's kernel command line lacks ${missing.join(" ")}: pass virtioMmioCmdline(...) of this placement in the V86's cmdline`,
      );
    }
  }
  if (problems.length) throw new Error(`attachVirtioMmio: cannot attach:\n${problems.map((p) => `  - ${p}\n`).join("")}`);
  return wire(v86, cpu, options, { cmdline, cmdlineChecked: !acpiDiscovery && written !== null, table, acpiTableChecked });
}

interface Announcements {
  cmdline: string;
  cmdlineChecked: boolean;
  table: Uint8Array;
  acpiTableChecked: boolean;
}

function wire(emulator: V86Emulator, cpu: V86Cpu, options: AttachOptions, announced: Announcements): VirtioMmioAttachment {
  const faults: AttachFault[] = [];
  const fault = (where: string) => (error: unknown) => {
    faults.push({ where, error });
    if (faults.length > 100) faults.shift();
  };

  // Refuse a v86 whose APIC struct is not where the MSI router writes (before any instruction
  // runs, while every word still holds its power-on value). The view is made once and again
  // only when the wasm memory grows. Without MSI nothing writes there.
  const apicView = new WasmWordsView(cpu.wasm_memory, cpu.get_apic_addr(), APIC_STRUCT_WORDS);
  if (options.msi !== false) verifyApicLayout(apicProbeOf(cpu, apicView.words), V86_VERSION);

  let attached = true;
  let hookFaulted = false;
  const onHookSilent = () => {
    if (hookFaulted || !attached || !emulator.is_running()) return;
    hookFaulted = true;
    fault("timer-hook")(
      new Error(
        `v86 has not called cpu.run_hardware_timers during the last ${HOOK_SILENT_AFTER} host-task drains that found work: ` +
          "our replacement is not being called (a v86 that binds its wasm imports once?), so deferred device work " +
          "only runs from host tasks, later than it should",
      ),
    );
  };
  const tasks = new TaskQueue(hostTaskArm(), fault("task"), { onHookSilent });
  // Drain deferred work between batches of guest instructions, outside any instruction. v86's
  // wasm calls run_hardware_timers through an import that looks the method up on the CPU each
  // time; the task queue counts the calls and reports when they stop.
  const ownTimers = cpu.run_hardware_timers;
  const runTimers = ownTimers.bind(cpu);
  // v86's cpu.mem8, cpu.flags and cpu.instruction_counter are Proxies that make a typed array
  // per element access (wasm-view.ts); the device paths use cached views of the same bytes.
  const ram = cachedView(Uint8Array, cpu.wasm_memory, cpu.mem8);
  const flags = cachedView(Int32Array, cpu.wasm_memory, cpu.flags);
  const counter = cachedView(Uint32Array, cpu.wasm_memory, cpu.instruction_counter);
  const batchEnd = options.endBatchOnWork === false ? null : new BatchEnd(() => counter.array);
  cpu.run_hardware_timers = (acpiEnabled, now) => {
    batchEnd?.settle();
    tasks.drainFromHook();
    return runTimers(acpiEnabled, now);
  };

  const windows = placeWindows({ count: options.devices.length, base: options.base, irqs: options.irqs });
  const mmio = new MmioBus(options.base ?? DEFAULT_MMIO_BASE, fault("mmio"));
  // Work a guest's access queued ends the batch it came in (batch-end.ts); work queued from the
  // host side (a frame arriving, a backend finishing) waits for the next batch boundary as before.
  const schedule = (fn: () => void) => {
    tasks.schedule(fn);
    if (batchEnd && mmio.inGuestAccess) batchEnd.request();
  };
  const apic = new LocalApicState(() => apicView.words, () => cpu.handle_irqs());
  // The one rule for when the CPU may take an interrupt (docs/virtio-mmio-msi.md, "When an
  // interrupt reaches the CPU"): not inside the guest's own MMIO access with IF set, else at
  // once. It governs the poke after an MSI (at once also wakes a halted CPU now instead of one
  // host task later) and every line move.
  const gate = new InterruptGate({
    inGuestAccess: () => mmio.inGuestAccess,
    interruptsEnabled: () => (flags.array[0]! & FLAG_INTERRUPT) !== 0,
    later: schedule,
  });
  const msiRouter = new MsiRouter(apic, (poke) => gate.run(poke));
  const memory = new RamMemory(() => ram.array, {
    onWrite: (start, end) => cpu.jit_dirty_cache(start, end),
    busWrite: (addr, value) => msiRouter.write(addr, value),
  });

  const devices = options.devices.map((device, slot): AttachedDevice => {
    const irq = windows[slot]!.irq;
    const line = new IrqLine(cpu, irq, gate);
    const msi = transportMsiOptions(options.msi, device.queueMaxSizes.length);
    const transport = new MmioTransport({ device, memory, line, schedule, msi });
    const address = mmio.attach(slot, transport);
    return { device, transport, line, address, irq };
  });
  mmio.register(cpu.io);

  return {
    devices,
    mmio,
    msiRouter,
    apic,
    memory,
    tasks,
    batchEnd,
    emulatorBus: emulator.emulator_bus,
    cmdline: announced.cmdline,
    cmdlineChecked: announced.cmdlineChecked,
    acpiTableChecked: announced.acpiTableChecked,
    acpiTable: () => announced.table.slice(),
    faults,
    detach() {
      if (!attached) return;
      attached = false;
      batchEnd?.settle();
      mmio.detachAll();
      for (const d of devices) cpu.device_lower_irq(d.irq);
      cpu.run_hardware_timers = ownTimers;
    },
  };
}

/** What the transport takes for `msi` (one device with `queues` virtqueues); RING_RESET goes with every layout but 2020's. */
function transportMsiOptions(msi: AttachMsiOptions | false, queues: number): MmioTransportOptions["msi"] {
  if (msi === false) return false;
  if (msi.layout === "2020") {
    return {
      layout: "2020",
      vectors: msi.vectors ?? queues + 1,
      sharing: msi.sharing ?? false,
      allowShortFixedTable: msi.allowShortFixedTable ?? false,
    };
  }
  for (const key of ["vectors", "sharing", "allowShortFixedTable"] as const) {
    if (msi[key] !== undefined) throw new Error(`attachVirtioMmio: msi.${key} belongs to the 2020 layout's vector table; give msi.layout "2020" with it`);
  }
  return { layout: "v3", hint: msi.hint ?? queues + 1 };
}
