// The page: reads the settings from the URL, loads the guest's images once, and boots one VM
// (or two side by side on a virtual switch), each in its own pane with its terminal, status
// line, device panel and controls. With state=URL, VM 1 starts from that saved state instead.

import { randomMac } from "../devices/net/mac.ts";
import { VirtualSwitch } from "../devices/net/switch.ts";
import { createNetwork, createSwitchedNetwork, type GuestNetwork } from "../machine/network.ts";
import type { MachineImages } from "../platform/machine.ts";
import { setUpCompare } from "./compare-view.ts";
import { installDebugHandle } from "./debug-handle.ts";
import { fetchImages, ImageLoadError } from "./load.ts";
import { setUpSettingsBar } from "./settings-bar.ts";
import { guestIp, parseSettings, vmCount, type PageSettings } from "../session/settings.ts";
import { VmView } from "./vm-view.ts";

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

const { settings, warnings } = parseSettings(location.search);
setUpSettingsBar(settings);

const sw = settings.net === "switch" ? new VirtualSwitch() : null;
const container = $("vms");
container.dataset["count"] = String(vmCount(settings));
const vms: VmView[] = [];
for (let index = 0; index < vmCount(settings); index++) {
  vms.push(new VmView(container, $<HTMLTemplateElement>("vm-template"), { index, settings, guestIp: guestIp(settings, index), network: networkFor(settings, index) }));
}
installDebugHandle(settings, () => vms, sw);
for (const w of warnings) vms[0]!.terminal.write(`\x1b[33mwarning: ${w}\x1b[0m\r\n`);

// An error no VM caught (v86's own loop throwing, say) stops them all: say so in each pane.
const halted = (why: string): void => {
  for (const vm of vms) {
    if (vm.machine) vm.showError("The emulator stopped with an error", why, "Restart the VM; if it happens again, reload the page. The browser console has the details.");
  }
};
window.addEventListener("error", (e) => halted(String(e.message)));
window.addEventListener("unhandledrejection", (e) => halted(String(e.reason?.message ?? e.reason)));

setUpCompare($<HTMLButtonElement>("compare-open"), $<HTMLDialogElement>("compare"), { vms: () => vms, images: boot(settings) });

/** Each VM keeps one MAC for the page's life, so a VM restarted in place is the same host to its peers. */
function networkFor(s: PageSettings, index: number): () => GuestNetwork | null {
  const mac = randomMac();
  if (sw) return () => createSwitchedNetwork(sw, `vm${index + 1}`, mac);
  const net = s.net as Exclude<PageSettings["net"], "switch">;
  return () => createNetwork(net, { dohServer: s.doh, ...(net === "inbrowser" ? { mac } : {}) });
}

/** Loads the images and starts the VMs; resolves with the images (null when they failed to load). */
async function boot(s: PageSettings): Promise<MachineImages | null> {
  let images;
  try {
    images = await fetchImages(
      {
        bios: "guest/bios.bin",
        vgaBios: "guest/vgabios.bin",
        kernel: s.kernel,
        initrd: s.initrd,
        ...(s.disk && !s.diskLazy ? { disk: s.disk } : {}),
        ...(s.state ? { state: s.state } : {}),
      } as Record<string, string>,
      (loaded, total, current) => {
        for (const vm of vms) vm.showProgress(loaded, total, current);
      },
    );
  } catch (error) {
    const url = error instanceof ImageLoadError ? error.url : "an image";
    for (const vm of vms) {
      vm.showError(
        "A guest image failed to load",
        (error as Error).message,
        url === s.state
          ? `Check that the state file ${url} exists next to this page, or open the page without the state parameter.`
          : `Check that ${url} exists next to this page (the default guest lives in guest/), or fix the URL parameter that names it.`,
      );
    }
    return null;
  }
  const machineImages = { bios: images["bios"]!, vgaBios: images["vgaBios"]!, kernel: images["kernel"]!, initrd: images["initrd"]! };
  // Each VM gets its own overlay over the one image (the image itself is only read).
  const disk = s.disk ? { kind: "url" as const, url: s.disk, ...(images["disk"] ? { image: images["disk"] } : {}) } : null;
  const state = images["state"] ? { bytes: new Uint8Array(images["state"]), label: s.state! } : undefined;
  await Promise.all(vms.map((vm, i) => vm.start(machineImages, disk, i === 0 ? state : undefined)));
  return machineImages;
}
