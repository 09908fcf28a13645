// The devices the headless runner attaches, from its command-line options.
import { readFileSync } from "node:fs";
import { BlockDevice } from "../devices/blk/device.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { FileBackend } from "./file-backend.ts";
import { DEFAULT_GUEST } from "./paths.ts";

export const DEVICE_OPTIONS = {
  disk: { type: "string" },
  "disk-ro": { type: "boolean" },
  "no-disk": { type: "boolean" },
} as const;

export interface DeviceChoices {
  disk?: string;
  "disk-ro"?: boolean;
  "no-disk"?: boolean;
}

/**
 * `--disk FILE` writes through to FILE; without it the guest gets a private in-memory copy of
 * the default disk, so runs never change the committed image.
 */
export async function createDevices(choices: DeviceChoices): Promise<VirtioDevice[]> {
  if (choices["no-disk"]) return [];
  const readOnly = choices["disk-ro"] === true;
  const backend = choices.disk
    ? new FileBackend(choices.disk, { readOnly })
    : new MemoryBackend(new Uint8Array(readFileSync(DEFAULT_GUEST.disk)), { readOnly });
  return [new BlockDevice({ backend, name: "blk0", serial: "v86-msi-disk0", readOnly })];
}

/** The default disk's device on an image held in memory (the `guest` command's --save and --restore). */
export function diskFromBytes(bytes: Uint8Array, readOnly: boolean): BlockDevice {
  return new BlockDevice({ backend: new MemoryBackend(bytes, { readOnly }), name: "blk0", serial: "v86-msi-disk0", readOnly });
}

/** The default disk's bytes, a private copy. */
export function defaultDiskBytes(): Uint8Array {
  return new Uint8Array(readFileSync(DEFAULT_GUEST.disk));
}
