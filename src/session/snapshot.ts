// Every counter of a VM as plain JSON, for window.v86msi.snapshot() (src/ui/debug-handle.ts
// documents the shape): safe to hand out of the page (page.evaluate), with typed arrays made
// sparse and bigints as text. No DOM: it reads the session, not the pane.

import type { NetBackend } from "../devices/net/backend.ts";
import type { AttachedDevice, Machine } from "../machine/machine.ts";
import { irqModeOf } from "../machine/irq-mode.ts";
import { msiRows } from "../machine/msi-rows.ts";
import type { PageDisk } from "./page-disk.ts";
import type { MachineState } from "./run-clock.ts";

/** What window.v86msi.vms[i] shows of a VM (its VmSession). */
export interface DebugVm {
  readonly name: string;
  readonly machine: Machine | undefined;
  readonly devices: readonly AttachedDevice[];
  readonly disk: PageDisk | null;
  readonly state: MachineState;
  readonly guestIp: string | null;
  readonly network: NetBackend | null;
}

/** Plain copy of a counters object: nested objects copied, typed arrays made sparse. */
export function plain(value: unknown): unknown {
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
    // Our patches of v86 (src/platform/v86/): installed, live, and their self-checks' findings.
    v86: m
      ? {
          patches: m.patchReport(),
          timerHookCalls: m.tasks.hookCalls,
          channelYield: m.channelYield ? { installed: m.channelYield.installed, live: m.channelYield.live, refused: m.channelYield.refused, ...m.channelYield.counters } : null,
        }
      : null,
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
