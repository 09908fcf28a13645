// Save and restore of every virtio device of a machine with its transport: the part of a
// machine's state that v86's save_state does not hold (v86 has the CPU, RAM and its own
// devices). One JSON-able object with a kind and a version. A restore checks every device's
// and every transport's state before it applies any, so a state that fails anywhere leaves the
// whole machine as it was: every piece in the one persistence shape (src/virtio/persist.ts),
// all checked, then all applied. The disk's bytes are the block backend's (they travel beside
// this).

import { blockPersist, type BlockSavedState } from "../devices/blk/device-state.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { netPersist, type NetSavedState } from "../devices/net/device-state.ts";
import { NetDevice } from "../devices/net/device.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import type { MmioTransport } from "../virtio/mmio-transport.ts";
import type { TransportSavedState } from "../virtio/transport-state.ts";

export const DEVICE_STATES_KIND = "virtio-devices";
export const DEVICE_STATES_VERSION = 1;

/** A device as the machine attached it. */
export interface StatefulDevice {
  readonly device: VirtioDevice;
  readonly transport: MmioTransport;
}

export type SavedDevice =
  | { readonly type: "blk"; readonly name: string; readonly transport: TransportSavedState; readonly device: BlockSavedState }
  | { readonly type: "net"; readonly name: string; readonly transport: TransportSavedState; readonly device: NetSavedState };

export interface SavedDevices {
  readonly kind: typeof DEVICE_STATES_KIND;
  readonly version: typeof DEVICE_STATES_VERSION;
  /** In slot order. */
  readonly devices: readonly SavedDevice[];
}

/** Waits until no device has work in flight (the guest stopped first): then a save may be taken. */
export async function quiesceDevices(list: readonly StatefulDevice[]): Promise<void> {
  for (const { device } of list) if (device instanceof BlockDevice) await device.quiesce();
}

/** Every device's and transport's state; throws for a device of a kind we cannot save. */
export function saveDeviceStates(list: readonly StatefulDevice[]): SavedDevices {
  const devices = list.map(({ device, transport }): SavedDevice => {
    if (device instanceof BlockDevice) {
      return { type: "blk", name: device.name, transport: transport.persist.save(), device: blockPersist(device).save() };
    }
    if (device instanceof NetDevice) {
      return { type: "net", name: device.name, transport: transport.persist.save(), device: netPersist(device).save() };
    }
    throw new Error(`cannot save device ${device.name}: only virtio-blk and virtio-net devices have a saved state`);
  });
  return { kind: DEVICE_STATES_KIND, version: DEVICE_STATES_VERSION, devices };
}

/**
 * Restores `input` (saveDeviceStates(), possibly through JSON) onto the devices of a machine
 * built like the saved one, after its RAM is restored. Everything is checked first; the first
 * problem throws an Error that names the device, and nothing has changed then.
 */
export function restoreDeviceStates(list: readonly StatefulDevice[], input: unknown): void {
  const fail = (what: string): never => {
    throw new Error(`saved device states refused: ${what}`);
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) fail("expected an object");
  const o = input as Record<string, unknown>;
  if (o.kind !== DEVICE_STATES_KIND) fail(`kind: expected "${DEVICE_STATES_KIND}", got ${JSON.stringify(o.kind)}`);
  if (o.version !== DEVICE_STATES_VERSION) fail(`version: expected ${DEVICE_STATES_VERSION}, got ${JSON.stringify(o.version)}`);
  if (!Array.isArray(o.devices)) return fail("devices: expected an array");
  if (o.devices.length !== list.length) fail(`saved with ${o.devices.length} device(s), this machine has ${list.length}`);
  const saved = o.devices as unknown[];

  // Check all.
  const apply = list.map(({ device, transport }, slot) => {
    const e = saved[slot];
    if (typeof e !== "object" || e === null) return fail(`devices[${slot}]: expected an object`);
    const entry = e as Record<string, unknown>;
    const here = device instanceof BlockDevice ? "blk" : device instanceof NetDevice ? "net" : null;
    if (here === null) return fail(`slot ${slot}: ${device.name} has no saved state`);
    if (entry.type !== here) fail(`slot ${slot}: saved from a ${String(entry.type)} device, this is ${here} (${device.name})`);
    try {
      const t = transport.persist;
      const checkedTransport = t.check(entry.transport);
      // The device's state is applied after the transport's, whose apply resets and activates it.
      if (device instanceof BlockDevice) {
        const p = blockPersist(device);
        const checked = p.check(entry.device);
        return () => {
          t.apply(checkedTransport);
          p.apply(checked);
        };
      }
      const p = netPersist(device as NetDevice);
      const checked = p.check(entry.device);
      return () => {
        t.apply(checkedTransport);
        p.apply(checked);
      };
    } catch (error) {
      return fail(`slot ${slot} (${device.name}): ${(error as Error).message}`);
    }
  });
  // Then apply all.
  for (const run of apply) run();
}
