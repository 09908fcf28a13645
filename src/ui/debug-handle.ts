// `window.v86msi`: a stable, documented handle on the running page for tests and benchmarks
// (Playwright's page.evaluate), so they read figures from the same counters the panel shows
// instead of scraping the DOM. It is read-only by convention; nothing on the page depends on it.
//
//   window.v86msi.version          1; bumped if anything below changes incompatibly
//   window.v86msi.settings         the PageSettings the page booted with (src/session/settings.ts)
//   window.v86msi.vms              one VmSession (src/session/vm-session.ts) per VM, VM 1 first
//                                  (two with net=switch); what this handle promises of each:
//     .name                        "vm1", "vm2"
//     .machine                     the Machine (src/machine/machine.ts), undefined until it exists
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
//   window.v86msi.snapshot()       every counter as plain JSON (safe to return from page.evaluate;
//                                  src/session/snapshot.ts):
//     { at: performance.now() ms, vms: [{ name, state, router: MsiRouter counters (perVector as
//       { vector: count } for non-zero vectors), devices: [{ name, mode ("msi" | "line"), msiMode:
//       the mode its driver took ("queue" | "table" | "line", "none" before the driver set it
//       up; src/machine/irq-mode.ts), transport: MmioTransport counters, device: the device's
//       counters, line: IrqLine counters, msiVectors: the MSI table's per-vector counters or
//       null, msiTargets: the per-queue mode's per-target counters (0 = config, 1 + q = queue
//       q) or null where the device does not offer it, msi: the rows the panel shows for the
//       mode in use (src/machine/msi-rows.ts) or null on the line }], network: { name, counters } of
//       the NIC's backend or null, faults: where each contained fault came from ("channel-yield"
//       when v86 refused the channel yield), v86: { patches: [{ name, installed, problems }] of
//       every patch of v86 (src/platform/v86/), timerHookCalls, channelYield: { installed, live,
//       refused, immediate, delayed } or null } }], switch: VirtualSwitch counters or null }

import type { VirtualSwitch } from "../devices/net/switch.ts";
import type { Machine } from "../machine/machine.ts";
import type { PageSettings } from "../session/settings.ts";
import { plain, snapshotVm, type DebugVm } from "../session/snapshot.ts";
import { panelCost, type PanelCost } from "./panel-cost.ts";

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

/** Installs the handle; `vms` is read live, so machines that boot (or reboot) later show up. */
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
