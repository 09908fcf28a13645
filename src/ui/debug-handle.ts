// `window.v86msi`: a stable, documented handle on the running page for tests and benchmarks
// (Playwright's page.evaluate), so they read figures from the same counters the panel shows
// instead of scraping the DOM. It is read-only by convention; nothing on the page depends on it.
//
//   window.v86msi.version          1; bumped if anything below changes incompatibly
//   window.v86msi.settings         the PageSettings the page booted with (see settings.ts)
//   window.v86msi.vms              one entry per VM, VM 1 first (two with net=switch):
//     .name                        "vm1", "vm2"
//     .machine                     the Machine (src/platform/machine.ts), undefined until it exists
//     .devices                     its AttachedDevices: { device, transport, line, address, irq }
//     .disk                        { overlay, persisted, label, keptElsewhere? } or null (keptElsewhere:
//                                  the lock name when another tab keeps this disk)
//     .state                       "loading" | "booting" | "running" | "paused" | "stopped" | "error"
//     .guestIp                     the address given on the kernel command line, or null
//     .network                     the NIC's backend (v86 bus adapter or switch port), or null
//   window.v86msi.machine          vms[0].machine (the one VM most callers want)
//   window.v86msi.switch           the VirtualSwitch with net=switch, else null
//   window.v86msi.panelCost         { renders, scriptMs }: the live panels' sampling renders so far and
//                                  the script time they took (src/ui/panel-cost.ts); 0 with charts=0
//   window.v86msi.comparison       the last "Compare interrupt modes" run, once one started: { running,
//                                  progress, figures (src/compare/measure-mode.ts ModeFigures per mode),
//                                  verdict, error } (src/ui/compare-view.ts)
//   window.v86msi.snapshot()       every counter as plain JSON (safe to return from page.evaluate):
//     { at: performance.now() ms, vms: [{ name, state, router: MsiRouter counters (perVector as
//       { vector: count } for non-zero vectors), devices: [{ name, mode ("msi" | "line"), msiMode:
//       the mode its driver took ("queue" | "table" | "line", "none" before the driver set it
//       up; src/ui/irq-mode.ts), transport: MmioTransport counters, device: the device's
//       counters, line: IrqLine counters, msiVectors: the MSI table's per-vector counters or
//       null, msiTargets: the per-queue mode's per-target counters (0 = config, 1 + q = queue
//       q) or null where the device does not offer it, msi: the rows the panel shows for the
//       mode in use (src/ui/msi-rows.ts) or null on the line }], network: { name, counters } of
//       the NIC's backend or null }], switch: VirtualSwitch counters or null }

import type { NetBackend } from "../devices/net/backend.ts";
import type { VirtualSwitch } from "../devices/net/switch.ts";
import type { AttachedDevice, Machine } from "../platform/machine.ts";
import type { PageDisk } from "../session/page-disk.ts";
import { irqModeOf } from "../machine/irq-mode.ts";
import { msiRows } from "../machine/msi-rows.ts";
import { panelCost, type PanelCost } from "./panel-cost.ts";
import type { PageSettings } from "../session/settings.ts";
import type { MachineState } from "./status-line.ts";

export interface DebugVm {
  readonly name: string;
  readonly machine: Machine | undefined;
  readonly devices: readonly AttachedDevice[];
  readonly disk: PageDisk | null;
  readonly state: MachineState;
  readonly guestIp: string | null;
  readonly network: NetBackend | null;
}

export interface DebugHandle {
  readonly version: 1;
  readonly settings: PageSettings;
  readonly vms: readonly DebugVm[];
  readonly machine: Machine | undefined;
  readonly switch: VirtualSwitch | null;
  readonly panelCost: Readonly<PanelCost>;
  snapshot(): unknown;
}

declare global {
  interface Window {
    v86msi?: DebugHandle;
  }
}

/** Plain copy of a counters object: nested objects copied, typed arrays made sparse. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const out: Record<number, number> = {};
    Array.from(value as unknown as ArrayLike<number>).forEach((n, i) => {
      if (n !== 0) out[i] = n;
    });
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export function snapshotVm(vm: DebugVm): unknown {
  const m = vm.machine;
  return {
    name: vm.name,
    state: vm.state,
    guestIp: vm.guestIp,
    router: m ? plain(m.msiRouter.counters) : null,
    // Deferred device work and where it drained: v86's timer hook, or the host-task fallback.
    tasks: m ? { ran: m.tasks.ran, hookCalls: m.tasks.hookCalls, hookDrains: m.tasks.hookDrains, hostDrains: m.tasks.hostDrains } : null,
    faults: m ? m.faults.map((f) => f.where) : null,
    devices: vm.devices.map((d) => {
      const st = d.transport.state();
      return {
        name: d.device.name,
        mode: st.interruptMode,
        msiMode: irqModeOf(st),
        transport: plain(d.transport.counters),
        device: plain(d.device.counters),
        line: plain(d.line.counters),
        msiVectors: d.transport.msi ? plain(d.transport.msi.counters.vectors) : null,
        msiTargets: d.transport.msiPerQueue ? plain(d.transport.msiPerQueue.counters.targets) : null,
        msi: plain(msiRows(d, st)),
      };
    }),
    network: vm.network ? { name: vm.network.name, counters: plain((vm.network as { counters?: unknown }).counters ?? null) } : null,
  };
}

/** Installs the handle; `vms` is read live, so VMs that boot (or reboot) later show up. */
export function installDebugHandle(settings: PageSettings, vms: () => readonly DebugVm[], sw: VirtualSwitch | null): void {
  window.v86msi = {
    version: 1,
    settings,
    get vms() {
      return vms();
    },
    get machine() {
      return vms()[0]?.machine;
    },
    switch: sw,
    get panelCost() {
      return { ...panelCost };
    },
    snapshot: () => ({
      at: performance.now(),
      vms: vms().map(snapshotVm),
      switch: sw ? plain(sw.counters) : null,
    }),
  };
}
