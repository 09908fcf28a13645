// One virtio-mmio device in the panel: interrupt mode, negotiated features, queues, the MSI
// messages of the mode the driver took (the table's vectors, or the per-queue mode's targets:
// address/data, enable, mask, pending, messages and messages/s), the line, MMIO accesses by
// register, and live charts (interrupts/s, MMIO/s, disk MB/s and IOPS or packets/s). Built
// once; each sample rewrites only the parts whose text changed.

import type { AttachedDevice } from "../machine/machine.ts";
import { decodeMsi } from "../platform/msi-message.ts";
import { esc, fmtBytes, fmtRate, hex, setHtml } from "./html.ts";
import { featureNames } from "../machine/feature-names.ts";
import { IRQ_MODE_LABEL, irqModeOf } from "../machine/irq-mode.ts";
import { VIRTIO_DEVICE_ID } from "../virtio/constants.ts";
import { msiRows, type MsiRow, type MsiRows } from "../machine/msi-rows.ts";
import { deviceRates, sampleDevice, type DeviceRates, type DeviceSample } from "../session/rates.ts";
import { Sparkline } from "./sparkline.ts";

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
      if (id === VIRTIO_DEVICE_ID.BLOCK) {
        this.#charts.push({ line: new Sparkline("disk MB/s", [{ label: "read MB/s", digits: 1 }, { label: "write MB/s", digits: 1 }]), values: (r) => [r.readMBs, r.writeMBs] });
        this.#charts.push({ line: new Sparkline("disk IOPS", [{ label: "IOPS" }]), values: (r) => [r.iops] });
      } else if (id === VIRTIO_DEVICE_ID.NET) {
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
    const inUse = irqModeOf(st);
    this.element.dataset["mode"] = st.interruptMode;
    this.element.dataset["msiMode"] = inUse;
    const design = inUse === "queue" ? "per-queue" : inUse === "table" ? "vector table" : "";
    setHtml(
      this.#slots.summary,
      `interrupts: <strong data-testid="mode">${msi ? "MSI" : "line"}</strong>` +
        (design ? ` <span data-testid="msi-mode" title="the MSI design the driver took">(${design})</span>` : "") +
        "; " +
        `line raised <span data-testid="line-raised">${d.line.counters.raised}</span> (${fmtRate(r.line)}/s); ` +
        `MMIO ${fmtRate(r.mmio)}/s`,
    );
    const features = featureNames(st.deviceId, st.negotiatedFeatures, st.msiLayout === "2020" ? "2020" : "v3");
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
    // MSI rows only when the driver took MSI: with msi=0 the table exists but nothing uses it.
    const msi = msiRows(this.#d, st);
    if (!msi) {
      const why = irqModeOf(st) === "none" ? "the driver has not set the device up yet" : `the device interrupts on IRQ ${this.#d.irq}`;
      return `<p class="dim" data-testid="no-msi">No MSI messages in use: ${why} ` +
        `(InterruptStatus read, InterruptACK written per interrupt).</p>`;
    }
    return msi.mode === "queue" ? this.#targetsHtml(msi, r) : this.#tableHtml(msi, r);
  }

  /** The address/data cell: the raw pair, and what it means to the local APIC. */
  #messageHtml(m: MsiRow): string {
    const decoded = m.addrHigh === 0 ? decodeMsi(m.addrLow, m.data) : null;
    const target = decoded ? `vector ${decoded.vector} → ${decoded.logical ? "logical" : "physical"} ${decoded.destination}` : "not configured";
    return `<td class="wrap"><span class="mono">${hex(m.addrLow)} ${hex(m.data, 4)}</span> <span class="dim">${esc(target)}</span></td>`;
  }

  /** The state cell: its words, each explained on hover. */
  #stateHtml(m: MsiRow): string {
    const words: Array<[string, string]> = [];
    if (m.enabled === false) words.push(["off", "not enabled by the driver: its events wait here"]);
    if (m.masked) words.push(["masked", "masked: its events wait in the pending bit"]);
    if (m.pending) words.push(["pending", "an event waits to be sent"]);
    if (words.length === 0) words.push(m.enabled ? ["on", "enabled and unmasked: its events are sent at once"] : ["-", ""]);
    return `<td title="${esc(words.map(([, why]) => why).filter(Boolean).join("; "))}">${words.map(([w]) => w).join(" ")}</td>`;
  }

  #tableHtml(msi: MsiRows, r: DeviceRates): string {
    const rows = msi.rows.map(
      (v) =>
        `<tr data-vector="${v.index}"><td>${v.index}</td><td>${esc(v.events)}</td>${this.#messageHtml(v)}` +
        `${this.#stateHtml(v)}<td class="num">${v.sent}</td><td class="num">${fmtRate(r.msiPerVector[v.index] ?? 0)}</td></tr>`,
    );
    return (
      `<table aria-label="${esc(this.#d.device.name)} MSI vectors"><thead><tr><th>vec</th><th>event</th><th>address/data</th><th>state</th>` +
      `<th>sent</th><th>/s</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      `<p class="dim">${IRQ_MODE_LABEL.table}: ${msi.rows.length} vectors, ${msi.sharing ? "sharing" : "fixed"} mapping${msi.configUnmapped ? " (config unmapped)" : ""}</p>`
    );
  }

  /**
   * The per-queue mode: one row per target (config, then each queue), each with its own pair.
   * No vector numbers: there is no table, and no mapping to show.
   */
  #targetsHtml(msi: MsiRows, r: DeviceRates): string {
    const rows = msi.rows.map(
      (t) =>
        `<tr data-target="${t.index === 0 ? "config" : `q${t.index - 1}`}"><td>${esc(t.events)}</td>${this.#messageHtml(t)}` +
        `${this.#stateHtml(t)}<td class="num">${t.sent}</td><td class="num">${fmtRate(r.msiPerTarget[t.index] ?? 0)}</td></tr>`,
    );
    // The driver gives every target one pair when it has too few interrupts (or the hint asks for one).
    const used = msi.rows.filter((t) => t.enabled);
    const shared = used.length > 1 && used.every((t) => t.addrLow === used[0]!.addrLow && t.data === used[0]!.data);
    return (
      `<table aria-label="${esc(this.#d.device.name)} MSI targets"><thead><tr><th>target</th><th>address/data</th><th>state</th>` +
      `<th>sent</th><th>/s</th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      `<p class="dim" data-testid="pq-summary">${IRQ_MODE_LABEL.queue}: ${msi.rows.length} targets, ${used.length} on` +
      `${shared ? ", all sharing one address/data pair" : ""}; the device asks for ${msi.pairsHint} distinct message${msi.pairsHint === 1 ? "" : "s"} (MsiVectorHint)</p>`
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
