// The page: reads the settings from the URL, loads the guest's images once, and boots one VM
// (or two side by side on a virtual switch): each a VmSession (the machine's life, no DOM) shown
// in its own pane (VmView: terminal, status line, device panel and controls). With state=URL,
// VM 1 starts from that saved state instead.

import wasmUrl from "v86/build/v86.wasm?url";
import { precompiledV86 } from "../browser/v86-wasm.ts";
import type { MachineImages } from "../machine/machine.ts";
import { imageLoadProblem, imageMaxBytes, imageProblem, pageImageUrls, pageStart } from "../session/page-images.ts";
import { foreignUrls } from "../session/url-origins.ts";
import { pageNetworks } from "../session/page-network.ts";
import { guestIp, parseSettings, vmCount, type PageSettings } from "../session/settings.ts";
import { VmSession } from "../session/vm-session.ts";
import { setUpCompare } from "./compare-view.ts";
import { installDebugHandle } from "./debug-handle.ts";
import { fetchImages, ImageLoadError } from "./load.ts";
import { askForeignOrigins, showSettingWarnings } from "./page-notices.ts";
import { setUpSettingsBar } from "./settings-bar.ts";
import { VmView } from "./vm-view.ts";

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

// v86's wasm compiles while the guest's files (or a state file) download.
const instantiateV86 = precompiledV86(wasmUrl);
const { settings, warnings } = parseSettings(location.search);
setUpSettingsBar(settings);

const networks = pageNetworks(settings);
const container = $("vms");
container.dataset["count"] = String(vmCount(settings));
const vms: VmView[] = [];
for (let index = 0; index < vmCount(settings); index++) {
  const session = new VmSession({
    index,
    settings,
    guestIp: guestIp(settings, index),
    network: networks.networkFor(index),
    wasmPath: wasmUrl,
    instantiateWasm: instantiateV86,
    onPageHide: (last) => addEventListener("pagehide", last),
  });
  vms.push(new VmView(container, $<HTMLTemplateElement>("vm-template"), session));
}
const sessions = vms.map((vm) => vm.session);
installDebugHandle(settings, () => sessions, networks.switch);
showSettingWarnings(warnings);
for (const w of warnings) vms[0]!.terminal.write(`\x1b[33mwarning: ${w}\x1b[0m\r\n`);

// An error no VM caught (v86's own loop throwing, say) stops them all: say so in each pane.
const halted = (why: string): void => {
  for (const s of sessions) {
    if (s.machine) s.fail({ title: "The emulator stopped with an error", text: why, help: "Restart the VM; if it happens again, reload the page. The browser console has the details." });
  }
};
window.addEventListener("error", (e) => halted(String(e.message)));
window.addEventListener("unhandledrejection", (e) => halted(String(e.reason?.message ?? e.reason)));

setUpCompare($<HTMLButtonElement>("compare-open"), $<HTMLDialogElement>("compare"), { vms: () => sessions, images: boot(settings) });

/** Loads the images and starts the VMs; resolves with the images (null when they failed to load). */
async function boot(s: PageSettings): Promise<MachineImages | null> {
  // Files of another origin only once the user has seen them named and agreed.
  const foreign = foreignUrls(s, location.href);
  if (foreign.length > 0 && !(await askForeignOrigins(foreign))) {
    for (const session of sessions) {
      session.fail({
        title: "Files from other sites were not loaded",
        text: foreign.map((f) => `${f.param}=${f.url} (${f.origin})`).join(", "),
        help: "This page loads files from other sites only when you agree. Reload the page to be asked again, or open it with the default settings.",
      });
    }
    return null;
  }
  let files;
  try {
    files = await fetchImages(
      pageImageUrls(s),
      (loaded, total, current) => {
        for (const vm of vms) vm.showProgress(loaded, total, current);
      },
      (name) => imageMaxBytes(s, name),
    );
  } catch (error) {
    const problem = imageLoadProblem(s, error instanceof ImageLoadError ? error.url : null, (error as Error).message);
    for (const session of sessions) session.fail(problem);
    return null;
  }
  // Checked before any emulator is built: a wrong kernel would throw inside v86 or hang.
  const unusable = imageProblem(s, files);
  if (unusable) {
    for (const session of sessions) session.fail(unusable);
    return null;
  }
  const start = pageStart(s, files);
  for (const vm of vms) vm.imagesLoaded();
  await Promise.all(sessions.map((session, i) => session.start(start.images, start.disk, i === 0 ? start.state : undefined)));
  return start.images;
}
