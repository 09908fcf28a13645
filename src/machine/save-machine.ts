// Saving a whole machine: v86's state and our devices' states, taken in the one order that
// keeps them consistent. The guest stops first; then the devices finish what they have in
// flight (a late completion writes the used ring and may send an MSI, which must be in v86's
// RAM and APIC state); then v86 saves; then our devices, with nothing run in between.

import type { Machine } from "./machine.ts";
import { quiesceDevices, restoreDeviceStates, saveDeviceStates, type SavedDevices } from "./device-states.ts";

export interface MachineSnapshot {
  readonly v86State: ArrayBuffer;
  readonly devices: SavedDevices;
}

/** Stops `machine` and returns its state; the machine stays stopped (resume() or destroy() it). */
export async function saveMachine(machine: Machine): Promise<MachineSnapshot> {
  // v86's state holds its UART's registers, not its receive queue: let the guest take every key
  // typed so far first (src/platform/v86/serial-input.ts).
  await machine.deliverSerialInput();
  await machine.pause();
  await quiesceDevices(machine.devices);
  const v86State = await machine.saveV86State();
  return { v86State, devices: saveDeviceStates(machine.devices) };
}

/** MachineOptions.restore for a snapshot (the machine must be built like the saved one). */
export function restoreFrom(snapshot: { readonly v86State: ArrayBuffer; readonly devices: unknown }) {
  return { v86State: snapshot.v86State, devices: (m: Machine) => restoreDeviceStates(m.devices, snapshot.devices) };
}
