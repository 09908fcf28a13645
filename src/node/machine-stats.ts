// What `guest exec --stats` prints: the MSI router's counters and, per device, its counters,
// the interrupt mode its driver took, and the state of that mode's MSI messages (the table's
// vectors, or the per-queue mode's targets), as plain JSON.

import type { AttachedDevice, Machine } from "../machine/machine.ts";
import { irqModeOf } from "../machine/irq-mode.ts";
import { msiRows } from "../machine/msi-rows.ts";

function deviceStats(d: AttachedDevice): unknown {
  const st = d.transport.state();
  return {
    name: d.device.name,
    interruptMode: irqModeOf(st),
    device: d.device.counters,
    transport: d.transport.counters,
    line: d.line.counters,
    msi: msiRows(d, st),
  };
}

export function machineStats(machine: Machine): unknown {
  return {
    msi: { ...machine.msiRouter.counters, perVector: undefined },
    devices: machine.devices.map(deviceStats),
    // Our patches of v86 (src/platform/v86/) with their self-checks, and contained faults.
    v86Patches: machine.patchReport(),
    faults: machine.faults.map((f) => ({ where: f.where, error: String(f.error) })),
  };
}
