// One VM's pane on the page: status line, buttons, terminal, device panel, the notices and the
// error panel. It renders what its VmSession (src/session/vm-session.ts) tells it and forwards
// the user's actions there; the machine's life itself (boot, restart, disk, network, saved
// states) is the session's.

import type { Machine } from "../machine/machine.ts";
import { IRQ_MODE_LABEL } from "../machine/irq-mode.ts";
import type { MachineState } from "../session/run-clock.ts";
import { pageInterrupts } from "../session/settings.ts";
import type { VmProblem, VmSession, VmSessionView } from "../session/vm-session.ts";
import { DevicePanel } from "./device-panel.ts";
import { StatusLine } from "./status-line.ts";
import { createTerminal, type ConsoleTerminal } from "./terminal.ts";
import { downloadBytes, downloadDisk, showLink } from "./vm-controls.ts";

/** The buttons that act on a running machine: dead between machines. */
const MACHINE_CONTROLS = ["pause", "link", "download", "reset", "upload", "save", "keep"] as const;

export class VmView implements VmSessionView {
  readonly session: VmSession;
  readonly root: HTMLElement;
  readonly terminal: ConsoleTerminal;
  readonly #status: StatusLine;
  #panel: DevicePanel | null = null;

  constructor(container: HTMLElement, template: HTMLTemplateElement, session: VmSession) {
    this.session = session;
    const n = session.index + 1;
    this.root = (template.content.firstElementChild!.cloneNode(true) as HTMLElement);
    this.root.dataset["vm"] = String(n);
    this.root.setAttribute("aria-label", `VM ${n}`);
    this.#part(".vm-name").textContent = `VM ${n}`;
    container.append(this.root);
    this.#status = new StatusLine(
      {
        state: this.#part('[data-testid="state"]'),
        uptime: this.#part('[data-testid="uptime"]'),
        memory: this.#part('[data-testid="memory"]'),
        mode: this.#part('[data-testid="irqmode"]'),
        ip: this.#part('[data-testid="ip"]'),
      },
      session,
    );
    this.terminal = createTerminal(this.#part(".vm-terminal"), (text) => session.sendSerial(text));
    this.#wireControls();
    session.attach(this);
  }

  /** The buttons forward to the session; each is wired once, for every machine the VM runs. */
  #wireControls(): void {
    const s = this.session;
    this.#control("restart").addEventListener("click", () => void s.restart());
    this.#control("reload").addEventListener("click", () => location.reload());
    this.#control("notice-reload").addEventListener("click", () => location.reload());
    this.#control("save").addEventListener("click", () => void this.#save());
    this.#control("keep").addEventListener("click", () => void s.keepState());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") void s.pageHidden();
    });
    this.#onFile(this.#control<HTMLInputElement>("restore"), (file) => s.restoreStateFile(file, file.name));
    this.#onFile(this.#control<HTMLInputElement>("upload"), async (file) => s.uploadDisk(file.name, await file.arrayBuffer()));
    this.#control("state-message-close").addEventListener("click", () => this.stateMessage(null, false));
    this.#control("pause").addEventListener("click", () => void s.togglePause());
    const link = this.#control("link");
    link.addEventListener("click", () => {
      if (s.toggleLink() && s.nic) showLink(link, s.nic);
    });
    this.#control("download").addEventListener("click", () => {
      if (s.disk) void downloadDisk(s.disk, s.index ? `disk-vm${s.index + 1}.img` : "disk.img");
    });
    this.#control("reset").addEventListener("click", () => {
      if (!s.disk) return;
      if (!confirm(`Drop everything VM ${s.index + 1} wrote to its disk and restart it from the original image?`)) return;
      void s.resetDisk();
    });
    this.#control("resume-kept").addEventListener("click", () => {
      this.#part('[data-testid="kept-offer"]').hidden = true;
      void s.resumeKept();
    });
    this.#control("discard-kept").addEventListener("click", () => {
      this.#part('[data-testid="kept-offer"]').hidden = true;
      void s.discardKept();
    });
  }

  #onFile(input: HTMLInputElement, use: (file: File) => Promise<void>): void {
    input.addEventListener("change", () => {
      const file = input.files?.[0];
      input.value = "";
      if (file) void use(file);
    });
  }

  #part<T extends HTMLElement = HTMLElement>(selector: string): T {
    const el = this.root.querySelector<T>(selector);
    if (!el) throw new Error(`VM pane is missing ${selector}`);
    return el;
  }

  #control<T extends HTMLElement = HTMLButtonElement>(name: string): T {
    return this.#part<T>(`[data-control="${name}"]`);
  }

  /** The page's images are loading (before any machine). */
  showProgress(loaded: number, total: number, current: string): void {
    const pct = total ? Math.round((loaded / total) * 100) : 0;
    this.#part('[data-part="progress-bar"]').style.width = `${pct}%`;
    this.#part('[data-testid="progress"]').setAttribute("aria-valuenow", String(pct));
    this.#part('[data-part="progress-text"]').textContent =
      `Loading ${current}... ${(loaded / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
  }

  /** The images are there: a state file can be restored from now on, whatever the boot does. */
  imagesLoaded(): void {
    this.#control<HTMLInputElement>("restore").disabled = false;
  }

  /** Downloads the machine's state file: the same format as `guest --save`. */
  async #save(): Promise<void> {
    const bytes = await this.session.takeState();
    if (!bytes) return;
    downloadBytes(bytes, this.session.index ? `vm${this.session.index + 1}.state` : "vm.state");
    this.stateMessage(`Saved the VM's state (${(bytes.length / 1048576).toFixed(1)} MiB). Restore state starts a VM from that file.`, false);
  }

  // What the session tells the pane (VmSessionView).

  state(state: MachineState): void {
    this.#status.show(state);
    const pause = this.#control("pause");
    const paused = state === "paused";
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
  }

  building(text: string): void {
    this.#part('[data-part="progress-text"]').textContent = text;
    this.#part('[data-testid="progress"]').hidden = false;
  }

  replacing(): void {
    this.#part('[data-testid="error"]').hidden = true;
    this.terminal.reset();
  }

  started(m: Machine): void {
    const s = this.session;
    const built = s.built;
    this.#part('[data-testid="progress"]').hidden = true;
    const asked = pageInterrupts(built);
    this.#status.begin(built.memoryMB, IRQ_MODE_LABEL[asked], s.guestIp);

    this.#panel = new DevicePanel(this.#part('[data-testid="devices"]'), m, s.disk, s.settings.charts);
    if (s.settings.charts) this.#panel.start();
    else this.#panel.renderOnce("Live counters and charts are off (charts=0 in the URL).");

    this.#control("pause").disabled = false;
    const link = this.#control("link");
    link.disabled = !s.nic;
    if (s.nic) showLink(link, s.nic);
    this.#control("download").disabled = this.#control("reset").disabled = !s.disk;
    this.#control<HTMLInputElement>("upload").disabled = false;
    this.#control("save").disabled = this.#control("keep").disabled = s.saving;
    if (s.index === 0) this.terminal.focus();
  }

  ended(): void {
    this.#panel?.stop();
    this.#panel = null;
    for (const name of MACHINE_CONTROLS) this.#control<HTMLButtonElement>(name).disabled = true;
  }

  serial(chunk: string): void {
    this.terminal.write(chunk);
  }

  /** The error panel: what happened, and what to do next. */
  problem(p: VmProblem): void {
    this.#part('[data-testid="progress"]').hidden = true;
    this.#part('[data-testid="error-title"]').textContent = p.title;
    this.#part('[data-testid="error-text"]').textContent = p.text;
    this.#part('[data-testid="error-help"]').textContent = p.help;
    // Restarting needs the images; without them only a reload helps.
    const canRestart = this.session.canRestart;
    this.#control("restart").hidden = !canRestart;
    this.#part('[data-testid="error"]').hidden = false;
    // The first thing to do next has the keyboard.
    (canRestart ? this.#control("restart") : this.#control("reload")).focus();
  }

  /** A line above the console that stays while the VM runs. */
  notice(text: string): void {
    this.#part('[data-part="notice-text"]').textContent = text;
    this.#part('[data-testid="notice"]').hidden = false;
  }

  stateMessage(text: string | null, isError: boolean): void {
    const box = this.#part('[data-testid="state-message"]');
    if (text === null) {
      box.hidden = true;
      return;
    }
    this.#part('[data-part="state-message-text"]').textContent = text;
    box.classList.toggle("bad", isError);
    box.setAttribute("role", isError ? "alert" : "status");
    box.hidden = false;
  }

  keptOffer(when: string): void {
    this.#part('[data-part="kept-offer-text"]').textContent = `This browser keeps a state of VM ${this.session.index + 1} from ${when}.`;
    this.#part('[data-testid="kept-offer"]').hidden = false;
    this.#control("resume-kept").focus();
  }

  mode(text: string, mode: string): void {
    this.#status.showMode(text, mode);
  }

  saving(busy: boolean): void {
    for (const name of ["save", "keep"]) this.#control(name).disabled = busy || this.session.machine === undefined;
  }
}
