// Watches one device's interrupt path while a workload runs, without changing it: wraps (as
// instance properties, removed afterwards) the transport's register accesses, the line's raise,
// the MSI router's write, v86's IRQ pin and the batch boundary (run_hardware_timers).
//
// Clocks: host performance.now() and v86's emulated instruction counter (cpu.instruction_counter,
// a view into the wasm memory). The instruction count is what the guest executed between two
// points, whatever the host was doing meanwhile: the quiet measure on a loaded machine.
//
// Points per request:
//   notify  the guest's QueueNotify write
//   signal  the device raises the event: line raise, or the MSI write reaching the bus
//   accept  the CPU takes the vector: its IRR bit in v86's local APIC is clear again. Seen at
//           once when it happens inside our delivery call (IF set), else at the next point we
//           can look: the device's next register access or the next batch boundary. So this is
//           an upper bound whose resolution is the emulator's batch, the same for both modes.
//   status  the handler's first register access: InterruptStatus read (line only: an MSI
//           handler touches no register)
//   next    the next QueueNotify (QD1 turnaround: handler, completion, wake-up, next submission)

import type { AttachedDevice, Machine } from "../../src/machine/machine.ts";
import { APIC_STRUCT_WORDS, APIC_WORD } from "../../src/platform/local-apic.ts";
import { REG } from "../../src/virtio/constants.ts";
import { percentile } from "./stats.ts";

interface Stamp {
  t: number;
  i: number;
}

export interface IrqLatency {
  samples: number;
  /** Medians; µs on the host's clock, instructions on the guest's. */
  notifyToSignalUs: number;
  notifyToSignalInstr: number;
  signalToAcceptUs: number;
  signalToAcceptInstr: number;
  /** Share of interrupts taken inside the delivery call itself (IF was set). */
  acceptedAtOnce: number;
  signalToStatusUs: number;
  signalToStatusInstr: number;
  signalToNextNotifyUs: number;
  signalToNextNotifyInstr: number;
  signalToNextNotifyP90Us: number;
}

export function installIrqProbe(machine: Machine, dev: AttachedDevice) {
  const cpu = machine.cpu as typeof machine.cpu & { instruction_counter: Uint32Array };
  const instr = () => cpu.instruction_counter[0]! >>> 0;
  const stamp = (): Stamp => ({ t: performance.now(), i: instr() });
  const apic = () => new Int32Array(cpu.wasm_memory.buffer, cpu.get_apic_addr(), APIC_STRUCT_WORDS);
  const bitSet = (w: Int32Array, base: number, v: number) => (w[base + (v >>> 5)]! & (1 << (v & 31))) !== 0;

  let notified: Stamp | null = null;
  let signalled: Stamp | null = null;
  let vector = -1;
  let accepted = false;
  let sawStatus = false;
  const notifyToSignal: number[] = [];
  const notifyToSignalInstr: number[] = [];
  const acceptUs: number[] = [];
  const acceptInstr: number[] = [];
  let atOnce = 0;
  const statusUs: number[] = [];
  const statusInstr: number[] = [];
  const nextUs: number[] = [];
  const nextInstr: number[] = [];

  const onSignal = () => {
    signalled = stamp();
    vector = -1;
    accepted = false;
    sawStatus = false;
    if (notified) {
      notifyToSignal.push(signalled.t - notified.t);
      notifyToSignalInstr.push((signalled.i - notified.i) >>> 0);
    }
    notified = null;
  };
  /** Records the acceptance if the vector's IRR bit has cleared since the signal. */
  const check = (inDelivery: boolean) => {
    if (!signalled || accepted || vector < 0) return;
    if (bitSet(apic(), APIC_WORD.IRR, vector)) return;
    const now = stamp();
    accepted = true;
    acceptUs.push(now.t - signalled.t);
    acceptInstr.push((now.i - signalled.i) >>> 0);
    if (inDelivery) atOnce++;
  };

  const transport = dev.transport as unknown as Record<string, unknown>;
  const origRead = dev.transport.read.bind(dev.transport);
  const origWrite = dev.transport.write.bind(dev.transport);
  transport.read = (offset: number, width: 1 | 2 | 4) => {
    check(false);
    if (offset === REG.InterruptStatus && signalled && !sawStatus) {
      sawStatus = true;
      const now = stamp();
      statusUs.push(now.t - signalled.t);
      statusInstr.push((now.i - signalled.i) >>> 0);
    }
    return origRead(offset, width);
  };
  transport.write = (offset: number, width: 1 | 2 | 4, value: number) => {
    check(false);
    if (offset === REG.QueueNotify) {
      const now = stamp();
      if (signalled) {
        nextUs.push(now.t - signalled.t);
        nextInstr.push((now.i - signalled.i) >>> 0);
      }
      signalled = null;
      notified = now;
    }
    origWrite(offset, width, value);
  };

  const line = dev.line as unknown as Record<string, unknown>;
  const origRaise = dev.line.raise.bind(dev.line);
  line.raise = () => {
    onSignal();
    origRaise();
  };

  const router = machine.msiRouter as unknown as Record<string, unknown>;
  const origMsi = machine.msiRouter.write.bind(machine.msiRouter);
  router.write = (addr: number, data: number) => {
    onSignal();
    vector = data & 0xff;
    const claimed = origMsi(addr, data);
    return claimed;
  };

  // The line's vector: the bit that v86's IO-APIC set (or that the CPU took at once) in the call.
  const pins = cpu as unknown as Record<string, unknown>;
  const ownPin = Object.hasOwn(cpu, "device_raise_irq") ? pins.device_raise_irq : undefined;
  const origPin = cpu.device_raise_irq.bind(cpu);
  pins.device_raise_irq = (n: number) => {
    const before = apic();
    const was = new Int32Array(8);
    for (let k = 0; k < 8; k++) was[k] = before[APIC_WORD.IRR + k]! | before[APIC_WORD.ISR + k]!;
    origPin(n);
    if (n === dev.irq && signalled && vector < 0) {
      const after = apic();
      for (let v = 0x20; v < 256 && vector < 0; v++) {
        const now = bitSet(after, APIC_WORD.IRR, v) || bitSet(after, APIC_WORD.ISR, v);
        if (now && (was[v >>> 5]! & (1 << (v & 31))) === 0) vector = v;
      }
      check(true);
    }
  };
  const apicState = machine.apic as unknown as Record<string, unknown>;
  const origPoke = machine.apic.poke.bind(machine.apic);
  apicState.poke = () => {
    origPoke();
    check(true);
  };
  const origTimers = cpu.run_hardware_timers;
  pins.run_hardware_timers = (acpi: boolean, now: number) => {
    check(false);
    return origTimers.call(cpu, acpi, now);
  };

  return {
    remove(): void {
      delete transport.read;
      delete transport.write;
      delete line.raise;
      delete router.write;
      delete apicState.poke;
      // cpu's own properties: put back what was there (Machine's run_hardware_timers hook).
      if (ownPin === undefined) delete pins.device_raise_irq;
      else pins.device_raise_irq = ownPin;
      pins.run_hardware_timers = origTimers;
    },
    result(): IrqLatency {
      const med = (xs: number[]) => percentile(xs, 50);
      return {
        samples: nextUs.length,
        notifyToSignalUs: med(notifyToSignal) * 1000,
        notifyToSignalInstr: med(notifyToSignalInstr),
        signalToAcceptUs: med(acceptUs) * 1000,
        signalToAcceptInstr: med(acceptInstr),
        acceptedAtOnce: acceptUs.length ? atOnce / acceptUs.length : Number.NaN,
        signalToStatusUs: statusUs.length ? med(statusUs) * 1000 : Number.NaN,
        signalToStatusInstr: statusInstr.length ? med(statusInstr) : Number.NaN,
        signalToNextNotifyUs: med(nextUs) * 1000,
        signalToNextNotifyInstr: med(nextInstr),
        signalToNextNotifyP90Us: percentile(nextUs, 90) * 1000,
      };
    },
  };
}
