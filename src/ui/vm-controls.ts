// What a VM's buttons show and do in the page itself: the network link's label, and saving the
// disk (or any bytes) as a file. The VM view wires them; the session does the rest.

import type { NetDevice } from "../devices/net/device.ts";
import type { PageDisk } from "../session/page-disk.ts";

/** The link button says what pressing it will do, and is "pressed" while the link is down. */
export function showLink(button: HTMLButtonElement, nic: NetDevice): void {
  button.textContent = nic.linkUp ? "Link down" : "Link up";
  button.setAttribute("aria-pressed", String(!nic.linkUp));
}

/** Saves the disk image as a file. What the guest wrote may still sit in its page cache: the
 * image holds what reached the disk (run `sync` in the guest first). */
export async function downloadDisk(disk: PageDisk, filename: string): Promise<void> {
  downloadBytes(await disk.overlay.exportImage(), filename);
}

/** Offers `bytes` to the user as a downloaded file. */
export function downloadBytes(bytes: Uint8Array, filename: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
