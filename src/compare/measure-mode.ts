// Runs the comparison's workload on one booted machine and returns its figures:
//   setup   register accesses from power-on to the prompt, and for one driver unbind + bind
//           of both devices (what probing costs, with no I/O in it)
//   steps   per request: interrupts, register accesses, guest instructions, host time
//   mask    register accesses per mask and per unmask, from the same unbind + bind (Linux
//           masks each interrupt it frees and unmasks each it requests; on one CPU nothing
//           else here masks an MSI)
// Counts come from the transports and v86's instruction counter; only host time and
// throughput depend on how busy the host was.

import type { AttachedDevice } from "../machine/machine.ts";
import { MSI_CMD, VIRTIO_DEVICE_ID } from "../virtio/constants.ts";
import { addCounts, deviceCounts, guestInstructions, instructionsBetween, registerKind, subtractCounts, type DeviceCounts } from "./device-counts.ts";
import { maskCost, perCall } from "./mask-cost.ts";
import type { ModeMachine } from "./boot-mode.ts";
import type { CompareModeKey, ObservedMode } from "./modes.ts";
import { deviceIrqs, parseInterrupts, type GuestIrq } from "./proc-interrupts.ts";
import { traceRegisters, type TraceEntry } from "./register-trace.ts";
import { run, type GuestShell } from "./shell.ts";
import { stepFigures, type StepFigures } from "./step-figures.ts";
import { STEPS, pingReplies, type Step } from "./workload.ts";

export interface SetupFigures {
  /** Both devices, power-on to the prompt: every register access, and those on MSI registers. */
  bootAccesses: number;
  bootMsiAccesses: number;
  /** Both devices' drivers unbound then bound again (sysfs): the bind's accesses. */
  bindAccesses: number;
  bindMsiAccesses: number;
  /** Of the bind's, the table's own commands (CONFIGURE, MAP_CONFIG, MAP_QUEUE): none in the per-queue mode. */
  bindVectorCommands: number;
  /** The unbind's accesses. */
  unbindAccesses: number;
}

export interface MaskFigures {
  /** Interrupts Linux freed and requested again (both devices). */
  interrupts: number;
  accessesPerMask: number;
  accessesPerUnmask: number;
  /** MASK commands per irq_mask(): above 1 when one interrupt serves several targets. */
  commandsPerMask: number;
}

export interface ModeFigures {
  mode: CompareModeKey;
  /** What the guest used, read from what its driver did (a fallback shows here). */
  observed: ObservedMode;
  bootMs: number;
  setup: SetupFigures;
  /** null on the line: masking it is the IO-APIC's business, no device register. */
  mask: MaskFigures | null;
  steps: StepFigures[];
}

export type Progress = (text: string) => void;

const VIRTIO_DRIVER: Record<number, string> = { [VIRTIO_DEVICE_ID.NET]: "virtio_net", [VIRTIO_DEVICE_ID.BLOCK]: "virtio_blk" };

/** The design the guest's driver left the device in. */
export function observedMode(d: AttachedDevice): ObservedMode {
  const mode = d.transport.state().msiMode;
  return mode === "per-queue" ? "queue" : mode === "table" ? "table" : "line";
}

async function interrupts(shell: GuestShell): Promise<GuestIrq[]> {
  return parseInterrupts(await run(shell, "cat /proc/interrupts"));
}

const irqCount = (rows: GuestIrq[], index: number) => deviceIrqs(rows, index).reduce((s, r) => s + r.count, 0);

async function runStep(m: ModeMachine, step: Step): Promise<StepFigures> {
  const index = step.device === "blk" ? 0 : 1;
  const dev = m.machine.devices[index]!;
  const irq0 = irqCount(await interrupts(m.shell), index);
  const completed0 = m.disk.counters.completed;
  const bytes0 = m.disk.counters.bytesRead;
  const counts0 = deviceCounts(dev);
  const i0 = guestInstructions(m.machine);
  const t0 = performance.now();
  const output = await run(m.shell, step.command);
  const hostMs = performance.now() - t0;
  const instructions = instructionsBetween(i0, guestInstructions(m.machine));
  const counts = subtractCounts(deviceCounts(dev), counts0);
  const guestInterrupts = irqCount(await interrupts(m.shell), index) - irq0;
  const bytes = m.disk.counters.bytesRead - bytes0;
  const requests = step.per === "read" ? m.disk.counters.completed - completed0 : step.per === "MiB" ? bytes / 1048576 : pingReplies(output);
  if (requests === 0) throw new Error(`${step.id}: no request completed\n${output}`);
  return stepFigures(step, { requests, bytes, counts, guestInterrupts, instructions, hostMs });
}

const VECTOR_COMMANDS: ReadonlySet<number> = new Set([MSI_CMD.CONFIGURE, MSI_CMD.MAP_CONFIG, MSI_CMD.MAP_QUEUE]);
const vectorCommands = (trace: readonly TraceEntry[]) => trace.filter((e) => e.write && e.reg === "MsiCmd" && VECTOR_COMMANDS.has(e.value)).length;

const msiAccesses = (trace: readonly TraceEntry[]) =>
  trace.filter((e) => {
    const k = registerKind(e.reg);
    return k === "table" || k === "perQueue";
  }).length;

/** Unbinds and binds each device's driver, tracing its registers; then checks the disk still reads. */
async function rebind(m: ModeMachine, msi: boolean): Promise<{ setup: Omit<SetupFigures, "bootAccesses" | "bootMsiAccesses">; mask: MaskFigures | null }> {
  const before = await interrupts(m.shell);
  let irqs = 0;
  const unbind: TraceEntry[] = [];
  const bind: TraceEntry[] = [];
  for (const [index, dev] of m.machine.devices.entries()) {
    const driver = VIRTIO_DRIVER[dev.device.deviceId];
    if (!driver) continue;
    irqs += deviceIrqs(before, index).length;
    const trace = traceRegisters(dev);
    try {
      await run(m.shell, `echo virtio${index} > /sys/bus/virtio/drivers/${driver}/unbind`);
      unbind.push(...trace.take());
      await run(m.shell, `echo virtio${index} > /sys/bus/virtio/drivers/${driver}/bind`);
      bind.push(...trace.take());
    } finally {
      trace.remove();
    }
  }
  // The rebound disk must still complete requests (and so take its interrupts).
  await run(m.shell, "dd if=/dev/vda of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null");
  const masks = maskCost(unbind);
  const unmasks = maskCost(bind);
  return {
    setup: { bindAccesses: bind.length, bindMsiAccesses: msiAccesses(bind), bindVectorCommands: vectorCommands(bind), unbindAccesses: unbind.length },
    mask: msi
      ? {
          interrupts: irqs,
          accessesPerMask: perCall(masks.mask, irqs),
          accessesPerUnmask: perCall(unmasks.unmask, irqs),
          commandsPerMask: irqs > 0 ? masks.mask.commands / irqs : Number.NaN,
        }
      : null,
  };
}

export async function measureMode(m: ModeMachine, progress: Progress = () => {}): Promise<ModeFigures> {
  // First, before any command: what getting to the prompt took.
  const boot: DeviceCounts = m.machine.devices.map(deviceCounts).reduce(addCounts);
  const observed = observedMode(m.machine.devices[0]!);
  const steps: StepFigures[] = [];
  for (const step of STEPS) {
    progress(`${m.mode.label}: ${step.label}`);
    steps.push(await runStep(m, step));
  }
  progress(`${m.mode.label}: unbinding and binding the drivers`);
  const { setup, mask } = await rebind(m, observed !== "line");
  return {
    mode: m.mode.key,
    observed,
    bootMs: m.bootMs,
    setup: { bootAccesses: boot.accesses, bootMsiAccesses: boot.table + boot.perQueue, ...setup },
    mask,
    steps,
  };
}
