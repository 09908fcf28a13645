// Page controls for the devices: the network link, and the disk (download what the guest
// wrote, or drop it and go back to the original image).

import type { NetDevice } from "../devices/net/device.ts";
import type { PageDisk } from "./page-devices.ts";

export function setUpLinkControl(button: HTMLButtonElement, nic: NetDevice): void {
  const label = (): void => {
    button.textContent = nic.linkUp ? "Link down" : "Link up";
    button.setAttribute("aria-pressed", String(!nic.linkUp));
  };
  button.disabled = false;
  label();
  button.addEventListener("click", () => {
    nic.setLink(!nic.linkUp);
    label();
  });
}

export function setUpDiskControls(download: HTMLButtonElement, reset: HTMLButtonElement, disk: PageDisk): void {
  download.disabled = false;
  reset.disabled = false;
  download.addEventListener("click", async () => {
    // What the guest wrote may still sit in its page cache: the image holds what reached the disk.
    const bytes = await disk.overlay.exportImage();
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "disk.img";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  reset.addEventListener("click", async () => {
    if (!confirm("Drop everything the guest wrote to the disk and restart from the original image?")) return;
    await disk.overlay.reset();
    location.reload();
  });
}
