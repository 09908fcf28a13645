// The devices the page attaches: the disk, as an overlay over the image the page loaded (so it
// can be reset to the original and downloaded), optionally persisted in IndexedDB so a reload
// keeps what the guest wrote.

import { BlockDevice } from "../devices/blk/device.ts";
import type { BlockBackend } from "../devices/blk/backend.ts";
import { HttpRangeBackend } from "../devices/blk/http-range-backend.ts";
import { IdbBlockStore } from "../devices/blk/idb-store.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { OverlayBackend } from "../devices/blk/overlay-backend.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import type { PageSettings } from "./settings.ts";

export interface PageDisk {
  readonly device: BlockDevice;
  readonly overlay: OverlayBackend;
  readonly persisted: boolean;
}

export interface PageDevices {
  readonly devices: VirtioDevice[];
  readonly disk: PageDisk | null;
}

/**
 * `diskImage` is the whole image when the page fetched it at start; without it (lazy mode) the
 * image is read on demand in 256 KiB chunks with HTTP Range requests, the overlay keeping writes.
 */
export async function createPageDevices(s: PageSettings, diskImage: ArrayBuffer | undefined): Promise<PageDevices> {
  if (!s.disk) return { devices: [], disk: null };
  let base: BlockBackend;
  let imageId: string;
  if (diskImage) {
    base = new MemoryBackend(diskImage, { readOnly: true });
    imageId = `${s.disk}#${diskImage.byteLength}`;
  } else {
    const lazy = await HttpRangeBackend.open(s.disk);
    base = lazy;
    imageId = `${s.disk}#${lazy.size}#${lazy.version ?? ""}`;
  }
  const overlay = s.persist
    ? await OverlayBackend.open(base, { imageId, store: await IdbBlockStore.open(`v86-msi-disk:${s.disk}`) })
    : new OverlayBackend(base, { imageId });
  const device = new BlockDevice({
    backend: overlay,
    name: "blk0",
    serial: "v86-msi-disk0",
    readOnly: s.diskReadOnly,
  });
  if (s.persist) autosave(overlay);
  return { devices: [device], disk: { device, overlay, persisted: s.persist } };
}

/**
 * Saves what the guest wrote about a second after it wrote it. A FLUSH from the guest saves at
 * once, but ext2 (the default disk) never sends one, and a person expects `sync` then reload
 * to keep the file; between the write and the save a reload loses it, as a power cut would.
 */
function autosave(overlay: OverlayBackend): void {
  const save = (): void => {
    if (overlay.counters.dirtyBlocks > 0) void overlay.flush();
  };
  setInterval(save, 1000);
  addEventListener("pagehide", save);
}
