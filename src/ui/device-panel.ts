// The device panel: for each virtio-mmio device, its interrupt mode, negotiated features,
// queues, MSI vectors (address/data, mask, pending, messages per second) and the legacy
// line, sampled a few times a second so it never slows the guest.

import type { AttachedDevice, Machine } from "../platform/machine.ts";
import { decodeMsi } from "../platform/msi-message.ts";
import type { PageDisk } from "./page-devices.ts";
import { Sparkline } from "./sparkline.ts";

const SAMPLE_MS = 250;
const NO_VECTOR = 0xffffffff;

const bits = (names: Record<number, string>): Array<[bigint, string]> =>
  Object.entries(names).map(([bit, name]) => [1n << BigInt(bit), name]);

/** Device-specific feature names by virtio device ID (1 net, 2 block). */
const DEVICE_FEATURE_NAMES: Record<number, Array<[bigint, string]>> = {
  1: bits({ 0: "CSUM", 1: "GUEST_CSUM", 3: "MTU", 5: "MAC", 15: "MRG_RXBUF", 16: "STATUS", 17: "CTRL_VQ", 18: "CTRL_RX", 23: "CTRL_MAC_ADDR" }),
  2: bits({ 1: "SIZE_MAX", 2: "SEG_MAX", 5: "RO", 6: "BLK_SIZE", 9: "FLUSH", 10: "TOPOLOGY", 12: "MQ", 13: "DISCARD", 14: "WRITE_ZEROES" }),
};

const FEATURE_NAMES: Array<[bigint, string]> = [
  [1n << 28n, "INDIRECT_DESC"],
  [1n << 29n, "EVENT_IDX"],
  [1n << 32n, "VERSION_1"],
  [1n << 40n, "MMIO_MSI"],
];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
const hex = (n: number, width = 8): string => `0x${(n >>> 0).toString(16).padStart(width, "0")}`;

interface Sample {
  at: number;
  msiSent: number[];
  lineRaised: number;
  mmio: number;
}

export class DevicePanel {
  readonly #root: HTMLElement;
  readonly #machine: Machine;
  readonly #last = new Map<AttachedDevice, Sample>();
  readonly #charts = new Map<AttachedDevice, Sparkline>();
  #timer: ReturnType<typeof setInterval> | undefined;

  readonly #disk: PageDisk | null;

  constructor(root: HTMLElement, machine: Machine, disk: PageDisk | null = null) {
    this.#root = root;
    this.#machine = machine;
    this.#disk = disk;
  }

  #live = false;

  start(): void {
    this.#live = true;
    this.#render();
    this.#timer = setInterval(() => this.#render(), SAMPLE_MS);
  }

  /** One render without sampling (charts=0): the structure, no live figures. */
  renderOnce(note: string): void {
    this.#render();
    const p = document.createElement("p");
    p.className = "dim";
    p.textContent = note;
    this.#root.prepend(p);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #render(): void {
    const parts: string[] = [];
    const router = this.#machine.msiRouter.counters;
    parts.push(
      `<h2>MSI router</h2><p class="dim" data-testid="router">messages ${router.messages}, delivered ${router.delivered}, ` +
        `merged ${router.coalesced}, dropped ${router.dropped}</p>`,
    );
    if (this.#disk) {
      const o = this.#disk.overlay.counters;
      parts.push(
        `<p class="dim">disk: ${o.blocks} blocks changed, ` +
          (this.#disk.persisted
            ? `<span data-testid="disk-unsaved">${o.dirtyBlocks}</span> not yet saved, <span data-testid="disk-saves">${o.saves}</span> saves to IndexedDB`
            : "kept in memory only (add ?persist=1 to keep it across reloads)") +
          `</p>`,
      );
    }
    for (const d of this.#machine.devices) parts.push(this.#deviceHtml(d));
    this.#root.innerHTML = parts.join("");
    for (const d of this.#machine.devices) {
      const slot = this.#root.querySelector<HTMLElement>(`[data-chart="${d.device.name}"]`);
      const chart = this.#charts.get(d);
      if (slot && chart) slot.replaceWith(chart.canvas);
    }
  }

  #deviceHtml(d: AttachedDevice): string {
    const st = d.transport.state();
    const now = performance.now();
    const msiCounters = d.transport.msi?.counters.vectors ?? [];
    const sample: Sample = {
      at: now,
      msiSent: msiCounters.map((v) => v.sent),
      lineRaised: d.line.counters.raised,
      mmio: sumValues(d.transport.counters.reads) + sumValues(d.transport.counters.writes),
    };
    const prev = this.#last.get(d) ?? sample;
    this.#last.set(d, sample);
    const secs = Math.max((now - prev.at) / 1000, 1e-3);
    const rate = (a: number, b: number): string => ((a - b) / secs).toFixed(0);
    const msiRate = sample.msiSent.reduce((a, v, i) => a + v - (prev.msiSent[i] ?? v), 0) / secs;
    const lineRate = (sample.lineRaised - prev.lineRaised) / secs;
    let chart = this.#charts.get(d);
    if (!chart && this.#live) {
      chart = new Sparkline(["MSI/s", "line/s"]);
      this.#charts.set(d, chart);
    }
    chart?.push([msiRate, lineRate]);

    const features = [...(DEVICE_FEATURE_NAMES[st.deviceId] ?? []), ...FEATURE_NAMES].filter(([bit]) => (st.negotiatedFeatures & bit) !== 0n).map(([, n]) => n);
    const queues = st.queues
      .map(
        (q) =>
          `<tr><td>${q.index}</td><td class="num">${q.size}/${q.maxSize}</td><td>${q.ready ? "ready" : "-"}</td>` +
          `<td class="num">${q.live ? q.live.counters.popped : ""}</td>` +
          `<td>${q.live?.broken ? `<span class="bad">${esc(q.live.broken)}</span>` : ""}</td></tr>`,
      )
      .join("");
    let vectors = "";
    if (st.msi) {
      const rows = st.msi.vectors.map((v, i) => {
        const m = decodeMsi(v.addrLow, v.data);
        const target = m ? `APIC vec ${m.vector} → ${m.logical ? "log" : "phys"} ${m.destination}` : "not configured";
        const use =
          st.msi!.configVector === i
            ? "config"
            : st.msi!.queueVectors
                .map((qv, q) => (qv === i ? `q${q}` : ""))
                .filter(Boolean)
                .join(",") || "-";
        const sent = msiCounters[i]?.sent ?? 0;
        return (
          `<tr data-vector="${i}"><td>${i}</td><td>${esc(use)}</td><td title="addr ${hex(v.addrLow)} data ${hex(v.data, 4)}">${esc(target)}</td>` +
          `<td>${v.masked ? "masked" : ""}${v.pending ? " pending" : ""}</td><td class="num">${sent}</td>` +
          `<td class="num">${rate(sent, prev.msiSent[i] ?? sent)}</td></tr>`
        );
      });
      const unused = st.msi.configVector === NO_VECTOR ? " (config unmapped)" : "";
      vectors =
        `<table aria-label="${esc(d.device.name)} MSI vectors"><thead><tr><th>vec</th><th>event</th><th>target</th><th>state</th>` +
        `<th>sent</th><th>/s</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
        `<p class="dim">MSI ${st.msi.enabled ? "enabled" : "not enabled"}, ${st.msi.sharing ? "sharing" : "fixed"} mapping${unused}</p>`;
    }
    const mmio = d.transport.counters;
    const isrReads = mmio.reads["InterruptStatus"] ?? 0;
    const acks = mmio.writes["InterruptACK"] ?? 0;
    const notifies = mmio.writes["QueueNotify"] ?? 0;
    const dev = d.device.counters as Record<string, number>;
    return (
      `<section class="device" data-device="${esc(d.device.name)}" data-mode="${st.interruptMode}">` +
      `<h2>${esc(d.device.name)} <span class="dim">at ${hex(d.address)}, IRQ ${d.irq}</span></h2>` +
      `<p>interrupts: <strong data-testid="mode">${st.interruptMode === "msi" ? "MSI" : "line"}</strong>; ` +
      `line raised <span data-testid="line-raised">${d.line.counters.raised}</span> (${lineRate.toFixed(0)}/s); ` +
      `MMIO ${rate(sample.mmio, prev.mmio)}/s</p>` +
      `<div data-chart="${esc(d.device.name)}"></div>` +
      `<p class="dim">features: ${esc(features.join(" ") || "(not negotiated)")}</p>` +
      `<p class="dim">InterruptStatus reads ${isrReads}, InterruptACK writes ${acks}, QueueNotify ${notifies}</p>` +
      (dev["requests"] !== undefined
        ? `<p class="dim">requests ${dev["requests"]}, read ${fmtBytes(dev["bytesRead"] ?? 0)}, written ${fmtBytes(dev["bytesWritten"] ?? 0)}</p>`
        : "") +
      `<table aria-label="${esc(d.device.name)} queues"><thead><tr><th>queue</th><th>size</th><th></th><th>chains</th><th></th></tr></thead><tbody>${queues}</tbody></table>` +
      vectors +
      `</section>`
    );
  }
}

function sumValues(o: Record<string, number>): number {
  let s = 0;
  for (const k in o) s += o[k]!;
  return s;
}

function fmtBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} KB`;
}
