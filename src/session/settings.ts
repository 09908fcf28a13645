// The page's settings, read from (and written back to) the URL so a configuration can be
// shared as a link. Pure: no DOM, unit-tested.

import { parseNetworkChoice, type NetworkChoice } from "../machine/network.ts";
import { memoryProblem } from "../platform/machine-limits.ts";
import { GUEST_BASE_CMDLINE, MSI_LAYOUTS, NO_IDE_CMDLINE, msiLayoutCmdline, msiModeOfLayout, type MsiLayout, type MsiMode } from "../firmware/guest-cmdline.ts";

export type PageNetwork = NetworkChoice | "switch";

export function parsePageNetwork(text: string): PageNetwork {
  return text === "switch" ? "switch" : parseNetworkChoice(text);
}

/**
 * The page's interrupt choice as one value: per-queue MSI (the devices offer the v3 layout),
 * the vector table (the 2020 layout), or the line (msi=0).
 */
export type PageInterrupts = MsiMode;

export const PAGE_INTERRUPTS: readonly PageInterrupts[] = ["queue", "table", "line"];

export interface PageSettings {
  /** Image URLs, relative to the page unless absolute. */
  kernel: string;
  initrd: string;
  disk: string | null;
  diskReadOnly: boolean;
  /** Fetch the disk lazily, in chunks with HTTP Range requests, instead of whole at start. */
  diskLazy: boolean;
  /** Keep what the guest writes to the disk across reloads (IndexedDB). */
  persist: boolean;
  /** Added to the kernel command line. */
  append: string;
  memoryMB: number;
  /** Devices offer VIRTIO_F_MMIO_MSI and the guest driver uses it. */
  msi: boolean;
  /**
   * The MSI layout the devices offer while `msi` is on (docs/virtio-mmio-msi-v3.md): "v3",
   * per-queue pairs beside RING_RESET, or "2020", the vector table; ignored when it is off.
   */
  msiLayout: MsiLayout;
  /**
   * Behind our virtio-net: one of v86's adapters (fetch, inbrowser, a wisp relay), none, or
   * "switch": two VMs side by side on a VirtualSwitch in this page.
   */
  net: PageNetwork;
  /**
   * With a wisp relay: the DNS-over-HTTPS server the guest's name lookups go to, or null (the
   * default) for none, so the page contacts nothing but the relay the user named.
   */
  doh: string | null;
  /** Live charts and the panel's sampling; off (charts=0) to measure what they cost. */
  charts: boolean;
  /**
   * v86's main loop gets its turns through a MessageChannel (src/platform/tick-yield.ts); off
   * (channelyield=0) keeps v86's own worker round trip, to measure the difference.
   */
  channelYield: boolean;
  /**
   * A state file (the page's Save state, or `guest --save`) on the page's origin that VM 1
   * starts from instead of booting, or null to boot.
   */
  state: string | null;
}

export const DEFAULT_SETTINGS: PageSettings = {
  kernel: "guest/bzImage",
  initrd: "guest/initrd.img",
  disk: "guest/disk.img",
  diskReadOnly: false,
  diskLazy: false,
  persist: false,
  append: "",
  memoryMB: 128,
  msi: true,
  msiLayout: "v3",
  net: "fetch",
  doh: null,
  charts: true,
  channelYield: true,
  state: null,
};


function flag(value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  return !["0", "false", "off", "no"].includes(value.toLowerCase());
}

/**
 * Reads settings from a query string; unknown, malformed or out-of-range values fall back to the
 * defaults, each with a warning the page shows (src/ui/page-notices.ts).
 */
export function parseSettings(search: string): { settings: PageSettings; warnings: string[] } {
  const q = new URLSearchParams(search);
  const warnings: string[] = [];
  const s: PageSettings = { ...DEFAULT_SETTINGS };
  if (q.get("kernel")) s.kernel = q.get("kernel")!;
  if (q.get("initrd")) s.initrd = q.get("initrd")!;
  if (q.has("disk")) s.disk = ["", "none"].includes(q.get("disk")!) ? null : q.get("disk");
  s.diskReadOnly = flag(q.get("diskro"), s.diskReadOnly);
  s.persist = flag(q.get("persist"), s.persist);
  s.diskLazy = flag(q.get("lazy"), s.diskLazy);
  s.append = q.get("append") ?? q.get("cmdline") ?? s.append;
  s.msi = flag(q.get("msi"), s.msi);
  const layout = q.get("msilayout");
  if (layout !== null && layout !== "") {
    if (!(MSI_LAYOUTS as readonly string[]).includes(layout)) {
      warnings.push(`msilayout=${layout} ignored: give ${MSI_LAYOUTS.join(" or ")}`);
    } else if (!s.msi) {
      warnings.push(`msilayout=${layout} ignored: msi=0 turns MSI off`);
    } else {
      s.msiLayout = layout as MsiLayout;
    }
  }
  // Links from before the layouts: msimode=queue|table|line (the driver's choice then).
  const mode = q.get("msimode");
  if (mode !== null && mode !== "" && layout === null) {
    if (mode === "line") s.msi = false;
    else if (mode === "table" && s.msi) s.msiLayout = "2020";
    else if (mode !== "queue" && mode !== "auto") warnings.push(`msimode=${mode} ignored: give msilayout=${MSI_LAYOUTS.join(" or ")}, or msi=0`);
  }
  s.charts = flag(q.get("charts"), s.charts);
  s.channelYield = flag(q.get("channelyield"), s.channelYield);
  if (q.get("state")) s.state = q.get("state");
  const doh = q.get("doh");
  if (doh !== null && doh !== "") {
    if (/^[a-z0-9.-]+(:\d+)?(\/[^\s]*)?$/i.test(doh)) s.doh = doh;
    else warnings.push(`doh=${doh} ignored: give a host name such as dns.example`);
  }
  const net = q.get("net");
  if (net !== null) {
    try {
      s.net = parsePageNetwork(net);
    } catch (error) {
      warnings.push(`net=${net} ignored: ${(error as Error).message}`);
    }
  }
  const mem = q.get("mem");
  if (mem !== null) {
    const problem = memoryProblem(/^\d+$/.test(mem) ? Number(mem) : mem);
    if (problem === null) s.memoryMB = Number(mem);
    else warnings.push(`mem=${mem} ignored: ${problem}; the VM runs with ${s.memoryMB} MiB`);
  }
  return { settings: s, warnings };
}

/** The query string that reproduces `s` (only what differs from the defaults). */
export function settingsQuery(s: PageSettings): string {
  const q = new URLSearchParams();
  const d = DEFAULT_SETTINGS;
  if (s.kernel !== d.kernel) q.set("kernel", s.kernel);
  if (s.initrd !== d.initrd) q.set("initrd", s.initrd);
  if (s.disk !== d.disk) q.set("disk", s.disk ?? "none");
  if (s.diskReadOnly !== d.diskReadOnly) q.set("diskro", s.diskReadOnly ? "1" : "0");
  if (s.persist !== d.persist) q.set("persist", s.persist ? "1" : "0");
  if (s.diskLazy !== d.diskLazy) q.set("lazy", s.diskLazy ? "1" : "0");
  if (s.append !== d.append) q.set("append", s.append);
  if (s.memoryMB !== d.memoryMB) q.set("mem", String(s.memoryMB));
  if (s.msi !== d.msi) q.set("msi", s.msi ? "1" : "0");
  if (s.msi && s.msiLayout !== d.msiLayout) q.set("msilayout", s.msiLayout);
  if (s.net !== d.net) q.set("net", s.net);
  if (s.doh !== d.doh) q.set("doh", s.doh ?? "");
  if (s.charts !== d.charts) q.set("charts", s.charts ? "1" : "0");
  if (s.channelYield !== d.channelYield) q.set("channelyield", s.channelYield ? "1" : "0");
  if (s.state !== d.state) q.set("state", s.state ?? "");
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** The interrupt choice `s` makes, as the page's mode control shows it. */
export function pageInterrupts(s: PageSettings): PageInterrupts {
  return s.msi ? msiModeOfLayout(s.msiLayout) : "line";
}

/** `s` with the interrupt choice `choice`: MSI off for the line, else on with that mode's layout. */
export function withInterrupts(s: PageSettings, choice: PageInterrupts): PageSettings {
  if (choice === "line") return { ...s, msi: false, msiLayout: DEFAULT_SETTINGS.msiLayout };
  return { ...s, msi: true, msiLayout: choice === "table" ? "2020" : "v3" };
}

/**
 * The kernel command line a VM boots with: console, the MSI switch or the layout's argument, its static address where
 * nobody answers DHCP (`guest.ip`, read by the guest's init), the user's additions.
 */
export function kernelCmdline(s: PageSettings, guestIp: string | null = null): string {
  const msi = !s.msi ? "virtio_mmio.msi=0" : msiLayoutCmdline(s.msiLayout);
  return [GUEST_BASE_CMDLINE, NO_IDE_CMDLINE, msi, guestIp ? `guest.ip=${guestIp}` : "", s.append]
    .filter(Boolean)
    .join(" ");
}

/** How many VMs the page runs: two side by side on the switch, else one. */
export function vmCount(s: PageSettings): number {
  return s.net === "switch" ? 2 : 1;
}

/**
 * Each VM's static address, or null where DHCP answers (fetch) or there is no network. On the
 * switch VM n gets 192.168.87.n; between tabs (inbrowser) a random host part, so two tabs
 * rarely clash (`random` in [0, 1)).
 */
export function guestIp(s: PageSettings, vmIndex: number, random: () => number = Math.random): string | null {
  if (s.net === "switch") return `192.168.87.${vmIndex + 1}/24`;
  if (s.net === "inbrowser") return `192.168.88.${2 + Math.floor(random() * 253)}/24`;
  return null;
}
