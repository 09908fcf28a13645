// One virtio-mmio device in the panel: interrupt mode, negotiated features, queues, each MSI
// vector (address/data, mask, pending, messages and messages/s), the line, MMIO accesses by
// register, and live charts (interrupts/s, MMIO/s, disk MB/s and IOPS or packets/s). Built
// once; each sample rewrites only the parts whose text changed.

import type { AttachedDevice } from "../platform/machine.ts";
import { decodeMsi } from "../platform/msi-message.ts";
import { esc, fmtBytes, fmtRate, hex, setHtml } from "./html.ts";
import { deviceRates, sampleDevice, type DeviceRates, type DeviceSample } from "./rates.ts";
import { Sparkline } from "./sparkline.ts";

const NO_VECTOR = 0xffffffff;
const VIRTIO_ID = { NET: 1, BLOCK: 2 } as const;

const bits = (names: Record<number, string>): Array<[bigint, string]> =>
  Object.entries(names).map(([bit, name]) => [1n << BigInt(bit), name]);

/** Device-specific feature names by virtio device ID. */
const DEVICE_FEATURE_NAMES: Record<number, Array<[bigint, string]>> = {
  [VIRTIO_ID.NET]: bits({ 0: "CSUM", 1: "GUEST_CSUM", 3: "MTU", 5: "MAC", 15: "MRG_RXBUF", 16: "STATUS", 17: "CTRL_VQ", 18: "CTRL_RX", 23: "CTRL_MAC_ADDR" }),
  [VIRTIO_ID.BLOCK]: bits({ 1: "SIZE_MAX", 2: "SEG_MAX", 5: "RO", 6: "BLK_SIZE", 9: "FLUSH", 10: "TOPOLOGY", 12: "MQ", 13: "DISCARD", 14: "WRITE_ZEROES" }),
};

const FEATURE_NAMES: Array<[bigint, string]> = [
  [1n << 28n, "INDIRECT_DESC"],
  [1n << 29n, "EVENT_IDX"],
  [1n << 32n, "VERSION_1"],
  [1n << 40n, "MMIO_MSI"],
];

type Slot = "summary" | "features" | "counts" | "queues" | "vectors" | "mmio";

interface Chart {
  line: Sparkline;
  values: (r: DeviceRates) => number[];
}

export class DeviceView {
  readonly element: HTMLElement;
  readonly #d: AttachedDevice;
  readonly #slots: Record<Slot, HTMLElement>;
  readonly #charts: Chart[] = [];
  #prev: DeviceSample | null = null;

  constructor(d: AttachedDevice, live: boolean) {
    this.#d = d;
    const name = d.device.name;
    const el = document.createElement("section");
    el.className = "device";
    el.dataset["device"] = name;
    el.innerHTML =
      `<h3>${esc(name)} <span class="dim">at ${hex(d.address)}, IRQ ${d.irq}</span></h3>` +
      `<p data-slot="summary"></p><div class="charts"></div>` +
      `<p class="dim" data-slot="features"></p><p class="dim" data-slot="counts"></p>` +
      `<div data-slot="queues"></div><div data-slot="vectors"></div>` +
      `<details class="mmio"${matchMedia("(max-width: 800px)").matches ? "" : " open"}><summary>MMIO accesses by register</summary><div data-slot="mmio"></div></details>`;
    const slot = (s: Slot): HTMLElement => el.querySelector<HTMLElement>(`[data-slot="${s}"]`)!;
    this.#slots = { summary: slot("summary"), features: slot("features"), counts: slot("counts"), queues: slot("queues"), vectors: slot("vectors"), mmio: slot("mmio") };
    this.element = el;
    if (live) {
      const id = d.transport.state().deviceId;
      this.#charts.push({ line: new Sparkline("interrupts/s", [{ label: "MSI/s" }, { label: "line/s" }]), values: (r) => [r.msi, r.line] });
      this.#charts.push({ line: new Sparkline("MMIO accesses/s", [{ label: "MMIO/s" }]), values: (r) => [r.mmio] });
      if (id === VIRTIO_ID.BLOCK) {
        this.#charts.push({ line: new Sparkline("disk MB/s", [{ label: "read MB/s", digits: 1 }, { label: "write MB/s", digits: 1 }]), values: (r) => [r.readMBs, r.writeMBs] });
        this.#charts.push({ line: new Sparkline("disk IOPS", [{ label: "IOPS" }]), values: (r) => [r.iops] });
      } else if (id === VIRTIO_ID.NET) {
        this.#charts.push({ line: new Sparkline("network packets/s", [{ label: "rx pkt/s" }, { label: "tx pkt/s" }]), values: (r) => [r.rxPps, r.txPps] });
      }
      el.querySelector(".charts")!.append(...this.#charts.map((c) => c.line.canvas));
    }
  }

  update(now: number): void {
    const d = this.#d;
    const sample = sampleDevice(d, now);
    const r = deviceRates(this.#prev ?? sample, sample);
    this.#prev = sample;
    for (const c of this.#charts) c.line.push(c.values(r));

    const st = d.transport.state();
    const msi = st.interruptMode === "msi";
    this.element.dataset["mode"] = st.interruptMode;
    setHtml(
      this.#slots.summary,
      `interrupts: <strong data-testid="mode">${msi ? "MSI" : "line"}</strong>; ` +
        `line raised <span data-testid="line-raised">${d.line.counters.raised}</span> (${fmtRate(r.line)}/s); ` +
        `MMIO ${fmtRate(r.mmio)}/s`,
    );
    const features = [...(DEVICE_FEATURE_NAMES[st.deviceId] ?? []), ...FEATURE_NAMES].filter(([bit]) => (st.negotiatedFeatures & bit) !== 0n).map(([, n]) => n);
    setHtml(this.#slots.features, `features: ${esc(features.join(" ") || "(not negotiated)")}`);

    const c = d.device.counters;
    let counts = "";
    if (c["requests"] !== undefined) {
      counts = `requests ${c["requests"]}, read ${fmtBytes(c["bytesRead"] ?? 0)}, written ${fmtBytes(c["bytesWritten"] ?? 0)}; ` +
        `${fmtRate(r.readMBs)} MB/s read, ${fmtRate(r.writeMBs)} MB/s written, ${fmtRate(r.iops)} IOPS`;
    } else if (c["rxPackets"] !== undefined) {
      counts = `packets in ${c["rxPackets"]}, out ${c["txPackets"]}, dropped ${(c["rxDrops"] ?? 0) + (c["txDrops"] ?? 0)}; ` +
        `${fmtRate(r.rxPps)} in/s, ${fmtRate(r.txPps)} out/s`;
    }
    setHtml(this.#slots.counts, counts);

    const queues = st.queues
      .map(
        (q) =>
          `<tr><td>${q.index}</td><td class="num">${q.size}/${q.maxSize}</td><td>${q.ready ? "ready" : "-"}</td>` +
          `<td class="num">${q.live ? q.live.counters.popped : ""}</td>` +
          `<td>${q.live?.broken ? `<span class="bad">${esc(q.live.broken)}</span>` : ""}</td></tr>`,
      )
      .join("");
    setHtml(
      this.#slots.queues,
      `<table aria-label="${esc(d.device.name)} queues"><thead><tr><th>queue</th><th>size</th><th>state</th><th>chains</th><th>error</th></tr></thead><tbody>${queues}</tbody></table>`,
    );
    setHtml(this.#slots.vectors, this.#vectorsHtml(st, r));
    setHtml(this.#slots.mmio, this.#mmioHtml(r));
  }

  #vectorsHtml(st: ReturnType<AttachedDevice["transport"]["state"]>, r: DeviceRates): string {
    const name = esc(this.#d.device.name);
    // MSI rows only when the driver took MSI: with msi=0 the table exists but nothing uses it.
    if (!st.msi || st.interruptMode !== "msi") {
      return `<p class="dim" data-testid="no-msi">No MSI vectors in use: the device interrupts on IRQ ${this.#d.irq} ` +
        `(InterruptStatus read, InterruptACK written per interrupt).</p>`;
    }
    const table = st.msi;
    const counters = this.#d.transport.msi?.counters.vectors ?? [];
    const rows = table.vectors.map((v, i) => {
      const m = decodeMsi(v.addrLow, v.data);
      const target = m ? `vector ${m.vector} → ${m.logical ? "logical" : "physical"} ${m.destination}` : "not configured";
      const use =
        table.configVector === i
          ? "config"
          : table.queueVectors.map((qv, q) => (qv === i ? `q${q}` : "")).filter(Boolean).join(",") || "-";
      const state = [v.masked ? "masked" : "", v.pending ? "pending" : ""].filter(Boolean).join(" ") || "-";
      return (
        `<tr data-vector="${i}"><td>${i}</td><td>${esc(use)}</td>` +
        `<td class="wrap"><span class="mono">${hex(v.addrLow)} ${hex(v.data, 4)}</span> <span class="dim">${esc(target)}</span></td>` +
        `<td>${state}</td><td class="num">${counters[i]?.sent ?? 0}</td><td class="num">${fmtRate(r.msiPerVector[i] ?? 0)}</td></tr>`
      );
    });
    const unmapped = table.configVector === NO_VECTOR ? " (config unmapped)" : "";
    return (
      `<table aria-label="${name} MSI vectors"><thead><tr><th>vec</th><th>event</th><th>address/data</th><th>state</th>` +
      `<th>sent</th><th>/s</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      `<p class="dim">MSI ${table.enabled ? "enabled" : "not enabled"}, ${table.sharing ? "sharing" : "fixed"} mapping${unmapped}</p>`
    );
  }

  #mmioHtml(r: DeviceRates): string {
    const rows = r.registers
      .map(
        (x) =>
          `<tr data-register="${x.access}:${esc(x.register)}"><td>${esc(x.register)}</td><td>${x.access}</td>` +
          `<td class="num">${x.count}</td><td class="num">${fmtRate(x.perSecond)}</td></tr>`,
      )
      .join("");
    return (
      `<table aria-label="${esc(this.#d.device.name)} MMIO accesses by register"><thead><tr><th>register</th><th>access</th>` +
      `<th>count</th><th>/s</th></tr></thead><tbody>${rows}</tbody></table>`
    );
  }
}
