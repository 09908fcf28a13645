// Our virtio-mmio devices in a V86 built by anyone with the unmodified `v86` package: the one
// place that wires them into v86's internals (MMIO dispatch, interrupt pins, local APIC, the
// timer hook). Machine (machine.ts) is a thin layer over it for our own page and tools.

import type { VirtioDevice } from "../virtio/interfaces.ts";
import { MmioTransport, type MmioTransportOptions } from "../virtio/mmio-transport.ts";
import { RamMemory } from "../virtio/ram-memory.ts";
import { initrdAcpiTables } from "../firmware/acpi-initrd.ts";
import { virtioMmioAcpiTable } from "../firmware/acpi-ssdt.ts";
import { ApicWrites } from "./v86/apic-writes.ts";
import { bzImageCmdline, bzImageInitrd, sameBytes } from "./v86/bzimage-header.ts";
import { BatchEndPatch, type BatchEnd } from "./v86/batch-end.ts";
import { InterruptGate } from "./interrupt-gate.ts";
import { IrqLine } from "./irq-line.ts";
import { LocalApicState } from "./local-apic.ts";
import { MmioBus } from "./mmio-bus.ts";
import { DEFAULT_MMIO_BASE, placeWindows, virtioMmioCmdline, type MmioPlacement } from "../firmware/mmio-placement.ts";
import { checkPlacement, v86TakenIrqs } from "./placement-check.ts";
import { MsiRouter } from "./msi-router.ts";
import { HOOK_SILENT_AFTER, TaskQueue, hostTaskArm } from "./task-queue.ts";
import { FLAG_INTERRUPT, guestRam, instructionCount, probeV86, type V86Cpu, type V86Emulator, type V86MessageBus } from "./v86/internals.ts";
import { MemoryViews } from "./v86/memory-views.ts";
import { MmioRegistration } from "./v86/mmio-register.ts";
import type { PatchReport, UninstallOutcome, V86Patch } from "./v86/patch.ts";
import { patchReports } from "./v86/patch.ts";
import { TimerHook } from "./v86/timer-hook.ts";
import type { MsiLayout } from "../firmware/guest-cmdline.ts";

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
  /** Every change made to v86 for this attachment, in install order (src/platform/v86/patch.ts). */
  readonly patches: readonly V86Patch[];
  /** Each patch's name, whether it is installed, and its self-check's findings now. */
  patchReport(): PatchReport[];
  /**
   * Takes the devices off the machine: the windows answer as empty slots, the lines go low and
   * v86's timer hook is its own again, unless someone replaced it after us: theirs stays, and
   * the returned outcome (per patch) says "displaced", which is also recorded as a fault.
   * v86 cannot unmap a block, so the block stays ours.
   */
  detach(): Record<string, UninstallOutcome>;
}

/** Which emulators have an attachment, and where: a second attach on one is refused. */
const attachedTo = new WeakMap<object, { base: number; count: number }>();

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
  const earlier = attachedTo.get(cpu);
  if (earlier) {
    throw new Error(
      `attachVirtioMmio: this emulator already has devices: ${earlier.count} attached at 0x${earlier.base.toString(16)} by attachVirtioMmio; ` +
        "attach every device in one call (detach the first attachment before attaching again)",
    );
  }
  const ran = instructionCount(cpu);
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
  const written = bzImageCmdline(guestRam(cpu));
  let acpiTableChecked = false;
  if (acpiDiscovery && written !== null && problems.length === 0) {
    const initrd = bzImageInitrd(guestRam(cpu));
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

  // Every change to v86 is a patch object (src/platform/v86/): the cached views of its memory,
  // the APIC writes (checked before any instruction runs; without MSI nothing writes there),
  // the batch end (and its guard on v86's reboot), the timer hook, and the block registration.
  const views = new MemoryViews(cpu);
  views.install();
  const apicWrites = new ApicWrites(cpu, options.msi !== false);
  apicWrites.install();

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
  const batchEndPatch = options.endBatchOnWork === false ? null : new BatchEndPatch(cpu, views.counter);
  batchEndPatch?.install();
  const batchEnd: BatchEnd | null = batchEndPatch?.batchEnd ?? null;
  // The rule at each batch boundary: take the batch end's advance back first (nothing may read
  // the counter advanced), then drain deferred device work, then v86's own timers.
  const atBatchBoundary = () => {
    batchEnd?.settle();
    tasks.drainFromHook();
  };
  const timerHook = new TimerHook(cpu, atBatchBoundary);
  timerHook.install();

  const windows = placeWindows({ count: options.devices.length, base: options.base, irqs: options.irqs });
  const mmio = new MmioBus(options.base ?? DEFAULT_MMIO_BASE, fault("mmio"));
  // Work a guest's access queued ends the batch it came in (batch-end.ts); work queued from the
  // host side (a frame arriving, a backend finishing) waits for the next batch boundary as before.
  const schedule = (fn: () => void) => {
    tasks.schedule(fn);
    if (batchEnd && mmio.inGuestAccess) batchEnd.request();
  };
  const apic = new LocalApicState(apicWrites.words, apicWrites.poke);
  // The one rule for when the CPU may take an interrupt (docs/virtio-mmio-msi.md, "When an
  // interrupt reaches the CPU"): not inside the guest's own MMIO access with IF set, else at
  // once. It governs the poke after an MSI (at once also wakes a halted CPU now instead of one
  // host task later) and every line move.
  const gate = new InterruptGate({
    inGuestAccess: () => mmio.inGuestAccess,
    interruptsEnabled: () => (views.flags()[0]! & FLAG_INTERRUPT) !== 0,
    later: schedule,
  });
  const msiRouter = new MsiRouter(apic, (poke) => gate.run(poke));
  const memory = new RamMemory(views.ram, {
    onWrite: views.dirty,
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
  const registration = new MmioRegistration(cpu, mmio);
  registration.install();
  attachedTo.set(cpu, { base: mmio.base, count: devices.length });
  const patches: V86Patch[] = [views, apicWrites, ...(batchEndPatch ? [batchEndPatch] : []), timerHook, registration];

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
    patches,
    patchReport: () => patchReports(patches),
    detach() {
      const outcomes: Record<string, UninstallOutcome> = {};
      if (!attached) return outcomes;
      attached = false;
      mmio.detachAll();
      for (const d of devices) cpu.device_lower_irq(d.irq);
      for (const patch of [...patches].reverse()) outcomes[patch.name] = patch.uninstall();
      for (const [name, outcome] of Object.entries(outcomes)) {
        if (outcome === "displaced") {
          fault(name)(new Error(`detach: v86's ${name} was replaced by someone else after attach; theirs was left in place`));
        }
      }
      attachedTo.delete(cpu);
      return outcomes;
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
