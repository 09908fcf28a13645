// "Compare interrupt modes": one click boots a machine of its own in each mode (per-queue
// MSI, vector table, line) one after another, runs the same short workload on each
// (src/compare/) and shows the figures side by side with a small chart. The user's VMs are
// paused (through their sessions, so their panes say so) for the run and resumed after.
// The last result is on window.v86msi.comparison for tests.

import wasmUrl from "v86/build/v86.wasm?url";
import { compareModes } from "../compare/compare.ts";
import type { ModeFigures } from "../compare/measure-mode.ts";
import { MAIN_MODES, designOf, type CompareModeKey } from "../compare/modes.ts";
import { cellText, modeLabel, summaryRows, type SummaryRow } from "../compare/summary-rows.ts";
import { verdict, verdictFigures } from "../compare/verdict.ts";
import type { MachineImages } from "../machine/machine.ts";
import { esc } from "./html.ts";
import type { VmSession } from "../session/vm-session.ts";

export interface Comparison {
  running: boolean;
  /** What it is doing now, or did last. */
  progress: string;
  figures: ModeFigures[] | null;
  verdict: string | null;
  error: string | null;
}

declare module "./debug-handle.ts" {
  interface DebugHandle {
    /** The last "Compare interrupt modes" run (src/ui/compare-view.ts), once one started. */
    comparison?: Comparison;
  }
}

const COLOURS: Record<CompareModeKey, string> = { queue: "#5cc8ff", table: "#ffb454", line: "#7bd88f", "queue-shared": "#5cc8ff", "table-shared": "#ffb454" };

export interface CompareHooks {
  /** The page's VMs, to pause during the run. */
  vms: () => readonly VmSession[];
  /** The guest images the page loaded (null when they failed to load). */
  images: Promise<MachineImages | null>;
}

export function setUpCompare(button: HTMLButtonElement, dialog: HTMLDialogElement, hooks: CompareHooks): void {
  const part = <T extends HTMLElement>(name: string) => dialog.querySelector<T>(`[data-part="${name}"]`)!;
  const state: Comparison = { running: false, progress: "", figures: null, verdict: null, error: null };
  part<HTMLButtonElement>("close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("cancel", (e) => {
    if (state.running) e.preventDefault();
  });

  button.addEventListener("click", async () => {
    dialog.showModal();
    if (state.running) return;
    Object.assign(state, { running: true, progress: "starting", figures: null, verdict: null, error: null });
    if (window.v86msi) window.v86msi.comparison = state;
    part("result").hidden = true;
    part("error").hidden = true;
    part<HTMLButtonElement>("close").disabled = true;
    button.disabled = true;
    const meter = part<HTMLProgressElement>("meter");
    meter.hidden = false;
    meter.value = 0;
    const say = (text: string) => {
      state.progress = text;
      part("progress").textContent = text;
      // "(i of n)" moves the meter: a third per mode.
      const m = /\((\d+) of (\d+)\)/.exec(text);
      if (m) meter.value = (Number(m[1]) - 1) / Number(m[2]);
    };
    const paused = await pauseVms(hooks.vms());
    try {
      const images = await hooks.images;
      if (!images) throw new Error("the guest images did not load, so there is nothing to boot");
      const figures = await compareModes({ images, wasmPath: wasmUrl }, MAIN_MODES, say);
      state.figures = figures;
      // A mode whose guest fell back to another design says nothing about the one it was asked for.
      const honest = figures.filter((f) => f.observed === designOf(f.mode));
      state.verdict = verdict(Object.fromEntries(honest.map((f) => [f.mode, verdictFigures(f)])));
      render(part("result"), figures, state.verdict);
      say("done");
      meter.value = 1;
    } catch (error) {
      state.error = (error as Error).message;
      part("error").textContent = `The comparison failed: ${state.error}`;
      part("error").hidden = false;
    } finally {
      meter.hidden = true;
      state.running = false;
      part<HTMLButtonElement>("close").disabled = false;
      button.disabled = false;
      await resumeVms(paused);
    }
  });
}

/** Pauses the running VMs; returns the ones it paused. */
async function pauseVms(vms: readonly VmSession[]): Promise<VmSession[]> {
  const paused: VmSession[] = [];
  for (const vm of vms) {
    if (vm.state !== "running" && vm.state !== "booting") continue;
    void vm.pause();
    paused.push(vm);
  }
  // The emulator stops asynchronously; measure only once it has.
  for (let i = 0; i < 100 && paused.some((vm) => vm.machine?.running); i++) await new Promise((r) => setTimeout(r, 20));
  return paused;
}

async function resumeVms(vms: readonly VmSession[]): Promise<void> {
  for (const vm of vms) if (vm.state === "paused") await vm.resume();
}

function render(el: HTMLElement, figures: readonly ModeFigures[], answer: string): void {
  const rows = summaryRows(figures);
  const modes = figures.map((f) => f.mode);
  const head = `<tr><th scope="col">Metric</th>${modes.map((m) => `<th scope="col" data-mode="${m}">${esc(modeLabel(m))}</th>`).join("")}</tr>`;
  const body = rows
    .map((r) => {
      const cells = modes.map((m) => {
        const v = r.values[m];
        return `<td class="num" data-mode="${m}" data-value="${typeof v === "number" ? v : esc(String(v ?? ""))}">${esc(cellText(v, r.digits))}</td>`;
      });
      return `<tr data-metric="${r.id}"><th scope="row">${esc(r.label)}</th>${cells.join("")}</tr>`;
    })
    .join("");
  el.innerHTML =
    `<p data-testid="compare-verdict">${esc(answer)}</p>` +
    `<div class="compare-out"><table data-testid="compare-table"><thead>${head}</thead><tbody>${body}</tbody></table>` +
    chart(rows.filter((r) => r.chart), modes) +
    `</div><p class="dim">Counts are exact (the devices' register counters and v86's instruction counter); rows marked host time depend on how busy this computer was. ` +
    `Masking: the mask and unmask Linux makes when the drivers are unbound and bound again; the line's is in the IO-APIC (n/a). Same workload as <code>npm run bench</code>'s "Do we need the vector table?".</p>`;
  el.hidden = false;
}

/** Horizontal bars, one group per metric, each bar scaled to the group's largest value. */
function chart(rows: readonly SummaryRow[], modes: readonly CompareModeKey[]): string {
  const barH = 10;
  const groupH = modes.length * barH + 22;
  const width = 300;
  const labelW = 0;
  const parts: string[] = [];
  rows.forEach((r, g) => {
    const y0 = g * groupH;
    parts.push(`<text x="0" y="${y0 + 12}" class="chart-label">${esc(r.label)}</text>`);
    const values = modes.map((m) => (typeof r.values[m] === "number" ? (r.values[m] as number) : Number.NaN));
    const max = Math.max(...values.filter(Number.isFinite), 0);
    modes.forEach((m, i) => {
      const v = values[i]!;
      const w = Number.isFinite(v) && max > 0 ? ((width - 60) * v) / max : 0;
      const y = y0 + 16 + i * barH;
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${COLOURS[m]}"><title>${esc(modeLabel(m))}: ${esc(cellText(v, r.digits))}</title></rect>`);
      parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + barH - 2}" class="chart-value">${esc(cellText(v, r.digits))}</text>`);
    });
  });
  const legend = modes.map((m) => `<span><i style="background:${COLOURS[m]}"></i>${esc(modeLabel(m))}</span>`).join("");
  return (
    `<figure class="compare-chart" data-testid="compare-chart"><svg role="img" aria-label="bars per metric and mode" width="${width}" height="${rows.length * groupH}" viewBox="0 0 ${width} ${rows.length * groupH}">${parts.join("")}</svg>` +
    `<figcaption class="legend">${legend}</figcaption></figure>`
  );
}
