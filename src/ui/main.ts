// The page: loads the guest's images, boots it in v86 with our virtio-mmio devices, wires the
// serial console to xterm.js, and shows what the machine and its interrupts are doing.

import wasmUrl from "v86/build/v86.wasm?url";
import { Machine } from "../platform/machine.ts";
import { createNetwork } from "../platform/network.ts";
import { setUpDiskControls, setUpLinkControl } from "./controls.ts";
import { createPageDevices, type PageDisk } from "./page-devices.ts";
import { DevicePanel } from "./device-panel.ts";
import { installDebugHandle } from "./debug-handle.ts";
import { fetchImages, ImageLoadError } from "./load.ts";
import { kernelCmdline, parseSettings, settingsQuery, type PageSettings } from "./settings.ts";
import { StatusLine } from "./status-line.ts";
import { createTerminal } from "./terminal.ts";

const PROMPT = "~ # ";

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el;
}

function showError(title: string, text: string, help: string): void {
  $("progress").hidden = true;
  $("error-title").textContent = title;
  $("error-text").textContent = text;
  $("error-help").textContent = help;
  $("error").hidden = false;
  status.set("error");
}

const { settings, warnings } = parseSettings(location.search);
const status = new StatusLine($("state"), $("uptime"), $("memory"), $("irqmode"));
const terminal = createTerminal($("terminal"), (text) => machine?.sendSerial(text));
let machine: Machine | undefined;
let pageDisk: PageDisk | null = null;

installDebugHandle(settings, () => [
  { name: "vm1", machine, devices: machine?.devices ?? [], disk: pageDisk, state: status.state, guestIp: null },
], null);

for (const w of warnings) terminal.write(`\x1b[33mwarning: ${w}\x1b[0m\r\n`);
setUpControls(settings);

window.addEventListener("unhandledrejection", (e) =>
  showError("The emulator stopped", String(e.reason?.message ?? e.reason), "Reload the page to start again."),
);
$("error-reload").addEventListener("click", () => location.reload());

void boot(settings);

async function boot(s: PageSettings): Promise<void> {
  status.set("loading");
  const bar = $("progress-bar");
  const text = $("progress-text");
  const progress = $("progress");
  let images;
  try {
    images = await fetchImages(
      {
        bios: "guest/bios.bin",
        vgaBios: "guest/vgabios.bin",
        kernel: s.kernel,
        initrd: s.initrd,
        ...(s.disk && !s.diskLazy ? { disk: s.disk } : {}),
      } as Record<string, string>,
      (loaded, total, current) => {
        const pct = total ? Math.round((loaded / total) * 100) : 0;
        bar.style.width = `${pct}%`;
        progress.setAttribute("aria-valuenow", String(pct));
        text.textContent = `Loading ${current}... ${(loaded / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
      },
    );
  } catch (error) {
    const url = error instanceof ImageLoadError ? error.url : "an image";
    showError(
      "A guest image failed to load",
      (error as Error).message,
      `Check that ${url} exists next to this page (the default guest lives in guest/), or fix the URL parameter that names it.`,
    );
    return;
  }

  text.textContent = "Booting Linux...";
  status.set("booting");
  try {
    const { devices, disk } = await createPageDevices(s, images["disk"]);
    pageDisk = disk;
    const network = createNetwork(s.net);
    if (network) devices.push(network.device);
    machine = await Machine.create({
      images: { bios: images["bios"]!, vgaBios: images["vgaBios"]!, kernel: images["kernel"]!, initrd: images["initrd"]! },
      wasmPath: wasmUrl,
      memoryMB: s.memoryMB,
      cmdline: kernelCmdline(s),
      devices,
      msi: s.msi ? {} : false,
      ...(network ? { v86Options: network.v86Options } : {}),
    });
    network?.attach(machine);
    if (network) setUpLinkControl($("link-toggle") as HTMLButtonElement, network.device);
    if (disk) setUpDiskControls($("disk-download") as HTMLButtonElement, $("disk-reset") as HTMLButtonElement, disk);
  } catch (error) {
    showError("The emulator could not start", (error as Error).message, "Reload the page; if it happens again, try the default settings (remove the URL parameters).");
    return;
  }
  const m = machine;
  progress.hidden = true;
  status.attach(m, s);
  let seen = "";
  const stopWatching = m.onSerial((chunk) => {
    seen = (seen + chunk).slice(-64);
    if (seen.includes(PROMPT)) {
      status.set("running");
      stopWatching();
    }
  });
  m.onSerial((chunk) => terminal.write(chunk));
  m.emulator.add_listener("emulator-stopped", () => {
    if (status.state !== "paused") status.set("stopped");
  });
  const panel = new DevicePanel($("devices"), m, pageDisk);
  if (s.charts) panel.start();
  else panel.renderOnce("Live counters and charts are off (charts=0 in the URL).");
  const pause = $("pause") as HTMLButtonElement;
  pause.disabled = false;
  pause.addEventListener("click", () => {
    if (status.state === "paused") {
      void m.resume();
      status.set("running");
      pause.textContent = "Pause";
    } else {
      status.set("paused");
      void m.pause();
      pause.textContent = "Resume";
    }
  });
  terminal.focus();
}

function setUpControls(s: PageSettings): void {
  const toggle = $("msi-toggle");
  toggle.textContent = s.msi ? "Restart with MSI off" : "Restart with MSI on";
  toggle.addEventListener("click", () => {
    location.search = settingsQuery({ ...s, msi: !s.msi });
  });
  const share = $("share") as HTMLAnchorElement;
  share.href = `${location.pathname}${settingsQuery(s)}`;
}
