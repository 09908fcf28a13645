// A VM's device panel: its MSI router, its disk's overlay, and one DeviceView per virtio-mmio
// device, sampled a few times a second (never from inside the guest's work, and not at all
// while the tab is hidden) so it does not slow the guest. With charts off it renders once.

import type { Machine } from "../machine/machine.ts";
import { DeviceView } from "./device-view.ts";
import { esc, setHtml } from "./html.ts";
import { measured } from "./panel-cost.ts";
import type { PageDisk } from "../session/page-disk.ts";

const SAMPLE_MS = 250;

export class DevicePanel {
  readonly #root: HTMLElement;
  readonly #machine: Machine;
  readonly #disk: PageDisk | null;
  readonly #head: HTMLElement;
  readonly #views: DeviceView[];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(root: HTMLElement, machine: Machine, disk: PageDisk | null, live: boolean) {
    this.#root = root;
    this.#machine = machine;
    this.#disk = disk;
    this.#head = document.createElement("div");
    this.#views = machine.devices.map((d) => new DeviceView(d, live));
    root.replaceChildren(this.#head, ...this.#views.map((v) => v.element));
  }

  start(): void {
    this.#render();
    this.#timer = setInterval(() => {
      if (!document.hidden) measured(() => this.#render());
    }, SAMPLE_MS);
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
    const router = this.#machine.msiRouter.counters;
    let head =
      `<h3>MSI router</h3><p class="dim" data-testid="router">messages ${router.messages}, delivered ${router.delivered}, ` +
      `merged ${router.coalesced}, dropped ${router.dropped}</p>`;
    if (this.#disk) {
      const o = this.#disk.overlay.counters;
      head +=
        `<p class="dim">disk (${esc(this.#disk.label)}): ${o.blocks} blocks changed, ` +
        (this.#disk.persisted
          ? `<span data-testid="disk-unsaved">${o.dirtyBlocks}</span> not yet saved, <span data-testid="disk-saves">${o.saves}</span> saves to IndexedDB`
          : this.#disk.keptElsewhere
            ? "kept in memory only (another tab keeps this disk)"
            : "kept in memory only") +
        `</p>`;
    }
    const faults = this.#machine.faults.length;
    if (faults > 0) head += `<p class="bad">${faults} internal faults (see window.v86msi.machine.faults)</p>`;
    setHtml(this.#head, head);
    const now = performance.now();
    for (const v of this.#views) v.update(now);
  }
}
