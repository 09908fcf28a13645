// A VM's disk on the page: an overlay over the image (so it can be reset to the original and
// downloaded), optionally persisted in IndexedDB so a reload keeps what the guest wrote. The
// overlay outlives a machine: restarting a VM builds a new block device over the same overlay,
// as rebooting a computer keeps its disk.

import { BlockDevice } from "../devices/blk/device.ts";
import type { BlockBackend } from "../devices/blk/backend.ts";
import { HttpRangeBackend } from "../browser/http-range-backend.ts";
import { IdbBlockStore } from "../browser/idb-store.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { OverlayBackend } from "../devices/blk/overlay-backend.ts";
import { takeDiskLock } from "../browser/disk-lock.ts";

const SECTOR = 512;

/** Where a disk's original bytes come from. */
export type DiskSource =
  /** A URL on the page's origin: `image` when fetched whole at start, else read lazily with Range requests. */
  | { readonly kind: "url"; readonly url: string; readonly image?: ArrayBuffer }
  /** A file the user picked; kept in this tab's memory only. */
  | { readonly kind: "upload"; readonly name: string; readonly image: ArrayBuffer };

export interface PageDisk {
  readonly overlay: OverlayBackend;
  readonly persisted: boolean;
  /** What the disk started as, for people: a URL or an uploaded file's name. */
  readonly label: string;
  /**
   * Set when the disk was to be kept but another tab keeps it: the name of the lock that tab
   * holds. This tab then runs on a copy of the original image, in memory only.
   */
  readonly keptElsewhere?: string;
  /** The image under the overlay when it is fetched lazily: the pane reports its failures. */
  readonly lazy?: HttpRangeBackend;
}

export interface DiskOptions {
  /** Keep writes in IndexedDB (URL images only; an upload is gone after a reload anyway). */
  persist: boolean;
  /** Tells apart the stores of several VMs over one image. */
  storeSuffix: string;
  /** Calls its argument when the page goes away (pagehide): a kept disk saves then, once more. */
  onPageHide?: (last: () => void) => void;
}

/**
 * An uploaded image as a whole number of sectors: virtio-blk sizes disks in 512-byte sectors,
 * so a last partial sector is padded with zeros rather than lost.
 */
export function padToSectors(image: ArrayBuffer): ArrayBuffer {
  if (image.byteLength % SECTOR === 0) return image;
  const padded = new Uint8Array(Math.ceil(image.byteLength / SECTOR) * SECTOR);
  padded.set(new Uint8Array(image));
  return padded.buffer;
}

export async function openPageDisk(src: DiskSource, o: DiskOptions): Promise<PageDisk> {
  let base: BlockBackend;
  let imageId: string;
  if (src.kind === "upload") {
    if (src.image.byteLength === 0) throw new Error(`${src.name} is empty`);
    const image = padToSectors(src.image);
    base = new MemoryBackend(image, { readOnly: true });
    return { overlay: new OverlayBackend(base, { imageId: `upload:${src.name}#${image.byteLength}` }), persisted: false, label: src.name };
  }
  let lazy: HttpRangeBackend | null = null;
  if (src.image) {
    base = new MemoryBackend(src.image, { readOnly: true });
    imageId = `${src.url}#${src.image.byteLength}`;
  } else {
    lazy = await HttpRangeBackend.open(src.url);
    base = lazy;
    imageId = `${src.url}#${lazy.size}#${lazy.version ?? ""}`;
  }
  const common = { label: src.url, ...(lazy ? { lazy } : {}) };
  if (!o.persist) return { overlay: new OverlayBackend(base, { imageId }), persisted: false, ...common };
  const name = `v86-msi-disk:${src.url}${o.storeSuffix}`;
  // The store is not even opened without the lock: the other tab's saves stay its own.
  if ((await takeDiskLock(name)) === "busy") {
    return { overlay: new OverlayBackend(base, { imageId }), persisted: false, keptElsewhere: name, ...common };
  }
  const store = await IdbBlockStore.open(name);
  const overlay = await OverlayBackend.open(base, { imageId, store });
  autosave(overlay, o.onPageHide);
  return { overlay, persisted: true, ...common };
}

/** A fresh block device over the disk, for one boot of a machine. */
export function pageBlockDevice(disk: PageDisk, readOnly: boolean): BlockDevice {
  return new BlockDevice({ backend: disk.overlay, name: "blk0", serial: "v86-msi-disk0", readOnly });
}

/**
 * Saves what the guest wrote about a second after it wrote it. A FLUSH from the guest saves at
 * once, but ext2 (the default disk) never sends one, and a person expects `sync` then reload
 * to keep the file; between the write and the save a reload loses it, as a power cut would.
 */
function autosave(overlay: OverlayBackend, onPageHide: DiskOptions["onPageHide"]): void {
  const save = (): void => {
    if (overlay.counters.dirtyBlocks > 0) void overlay.flush();
  };
  setInterval(save, 1000);
  onPageHide?.(save);
}
