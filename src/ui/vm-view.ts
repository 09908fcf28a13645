// One VM on the page: its pane (status line, buttons, terminal, device panel, error panel) and
// its machine's life: boot, pause/resume, restart in place (a new Machine over the same disk,
// or over a disk the user uploaded), save to and restore from a state file, and the helpful
// error when it cannot go on.

import wasmUrl from "v86/build/v86.wasm?url";
import { Machine, type MachineImages } from "../platform/machine.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { createNetwork, parseNetworkChoice, type GuestNetwork } from "../machine/network.ts";
import { restoreFrom, saveMachine } from "../machine/save-machine.ts";
import { encodeSavedMachine, type SavedMachine } from "../machine/state-file.ts";
import { packSavedMachine, unpackSavedMachine } from "../machine/state-file-gzip.ts";
import { downloadBytes, downloadDisk, showLink, toggleLink } from "./controls.ts";
import type { DebugVm } from "./debug-handle.ts";
import type { HttpRangeBackend } from "../browser/http-range-backend.ts";
import { IdbStateStore, type KeptState } from "../browser/idb-state-store.ts";
import { DevicePanel } from "./device-panel.ts";
import { watchDiskLock } from "./disk-lock.ts";
import { HaltWatch } from "./halt-watch.ts";
import { openPageDisk, pageBlockDevice, type DiskSource, type PageDisk } from "./page-devices.ts";
import { deviceIrqMode, IRQ_MODE_LABEL, summariseIrqModes } from "../machine/irq-mode.ts";
import { pageSavedBoot, restoredSettings } from "./saved-state.ts";
import { kernelCmdline, pageInterrupts, type PageSettings } from "./settings.ts";
import { StatusLine, type MachineState } from "./status-line.ts";
import { createTerminal, type ConsoleTerminal } from "./terminal.ts";

const PROMPT = "~ # ";

export interface VmOptions {
  /** 0 for VM 1. */
  index: number;
  settings: PageSettings;
  /** Static address for the kernel command line (guest.ip), or null for DHCP / no network. */
  guestIp: string | null;
  /** A new network for each boot (a fresh adapter or switch port), or null for none. */
  network: () => GuestNetwork | null;
}

export class VmView implements DebugVm {
  readonly name: string;
  readonly root: HTMLElement;
  readonly terminal: ConsoleTerminal;
  readonly guestIp: string | null;
  machine: Machine | undefined;
  disk: PageDisk | null = null;
  readonly #o: VmOptions;
  readonly #status: StatusLine;
  #images: MachineImages | null = null;
  #network: GuestNetwork | null = null;
  #panel: DevicePanel | null = null;
  /** Listeners of one boot; aborted when the machine goes. */
  #wiring = new AbortController();
  /** True while we stop the emulator ourselves (pause, restart): its "stopped" is no halt. */
  #stopping = false;
  #sawPrompt = false;
  #saving = false;
  #store: Promise<IdbStateStore> | null = null;
  /** Set once the user kept a state (or resumed one): the tab keeps it again when hidden. */
  #keepOnHide = false;
  /** The settings the current machine was built with: the page's, or a restored file's. */
  #built: PageSettings;

  constructor(container: HTMLElement, template: HTMLTemplateElement, o: VmOptions) {
    this.#o = o;
    this.#built = o.settings;
    this.name = `vm${o.index + 1}`;
    this.guestIp = o.guestIp;
    this.root = (template.content.firstElementChild!.cloneNode(true) as HTMLElement);
    this.root.dataset["vm"] = String(o.index + 1);
    this.root.setAttribute("aria-label", `VM ${o.index + 1}`);
    this.#part(".vm-name").textContent = `VM ${o.index + 1}`;
    container.append(this.root);
    this.#status = new StatusLine({
      state: this.#part('[data-testid="state"]'),
      uptime: this.#part('[data-testid="uptime"]'),
      memory: this.#part('[data-testid="memory"]'),
      mode: this.#part('[data-testid="irqmode"]'),
      ip: this.#part('[data-testid="ip"]'),
    });
    this.terminal = createTerminal(this.#part(".vm-terminal"), (text) => this.machine?.sendSerial(text));
    this.#control("restart").addEventListener("click", () => void this.restart());
    this.#control("reload").addEventListener("click", () => location.reload());
    this.#control("notice-reload").addEventListener("click", () => location.reload());
    this.#control("save").addEventListener("click", () => void this.saveState());
    this.#control("keep").addEventListener("click", () => void this.keepState());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && this.#keepOnHide) void this.keepState();
    });
    const restore = this.#control<HTMLInputElement>("restore");
    restore.addEventListener("change", () => void this.#restoreFromInput(restore));
    this.#control("state-message-close").addEventListener("click", () => (this.#part('[data-testid="state-message"]').hidden = true));
  }

  get state(): MachineState {
    return this.#status.state;
  }

  get network(): DebugVm["network"] {
    return this.#network?.backend ?? null;
  }

  get devices(): DebugVm["devices"] {
    return this.machine?.devices ?? [];
  }

  #part<T extends HTMLElement = HTMLElement>(selector: string): T {
    const el = this.root.querySelector<T>(selector);
    if (!el) throw new Error(`VM pane is missing ${selector}`);
    return el;
  }

  #control<T extends HTMLElement = HTMLButtonElement>(name: string): T {
    return this.#part<T>(`[data-control="${name}"]`);
  }

  showProgress(loaded: number, total: number, current: string): void {
    const pct = total ? Math.round((loaded / total) * 100) : 0;
    this.#part('[data-part="progress-bar"]').style.width = `${pct}%`;
    this.#part('[data-testid="progress"]').setAttribute("aria-valuenow", String(pct));
    this.#part('[data-part="progress-text"]').textContent =
      `Loading ${current}... ${(loaded / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
  }

  /** The error panel: what happened, and what to do next. */
  showError(title: string, text: string, help: string): void {
    this.#part('[data-testid="progress"]').hidden = true;
    this.#part('[data-testid="error-title"]').textContent = title;
    this.#part('[data-testid="error-text"]').textContent = text;
    this.#part('[data-testid="error-help"]').textContent = help;
    // Restarting needs the images; without them only a reload helps.
    this.#control("restart").hidden = this.#images === null;
    this.#part('[data-testid="error"]').hidden = false;
    this.#status.set("error");
    // The first thing to do next has the keyboard.
    (this.#images ? this.#control("restart") : this.#control("reload")).focus();
  }

  /** A line above the console that stays while the VM runs. */
  showNotice(text: string): void {
    this.#part('[data-part="notice-text"]').textContent = text;
    this.#part('[data-testid="notice"]').hidden = false;
  }

  /** The disk was to be kept, but another tab keeps it: say so, and say when that tab lets go. */
  #noticeKeptElsewhere(lockName: string): void {
    this.showNotice(
      "This disk is open in another tab, which keeps it. This VM runs on a temporary copy of the original image: " +
        "what it writes is lost when this tab closes or reloads. To keep the disk here, close the other tab, then reload this one.",
    );
    watchDiskLock(lockName, () =>
      this.showNotice(
        "The other tab has let go of the disk. Reload this tab to use the kept disk " +
          "(what this VM wrote to its temporary copy is then dropped).",
      ),
    );
  }

  /**
   * First boot: opens the disk, then starts the machine, or restores it from `state` (a state
   * file's bytes; `label` names it in messages) when given. A fresh boot then offers a state
   * an earlier visit kept in this browser.
   */
  async start(images: MachineImages, disk: DiskSource | null, state?: { bytes: Uint8Array; label: string }): Promise<void> {
    this.#images = images;
    this.#control<HTMLInputElement>("restore").disabled = false;
    if (disk) {
      try {
        this.disk = await openPageDisk(disk, { persist: this.#o.settings.persist, storeSuffix: this.#o.index ? `#vm${this.#o.index + 1}` : "" });
      } catch (error) {
        this.showError("The disk could not be opened", (error as Error).message, "Reload the page; if it fails again, open it without the disk or lazy parameters.");
        return;
      }
      if (this.disk.keptElsewhere !== undefined) this.#noticeKeptElsewhere(this.disk.keptElsewhere);
    }
    if (state) {
      await this.restoreState(state.bytes, state.label);
    } else {
      await this.#boot();
      await this.#offerKept();
    }
  }

  /**
   * Saves the running machine to a state file and downloads it: the same format as
   * `guest --save` (src/machine/state-file.ts), so either can restore the other's files.
   */
  async saveState(): Promise<void> {
    const bytes = await this.#takeState();
    if (!bytes) return;
    downloadBytes(bytes, this.#o.index ? `vm${this.#o.index + 1}.state` : "vm.state");
    this.#stateMessage(`Saved the VM's state (${(bytes.length / 1048576).toFixed(1)} MiB). Restore state starts a VM from that file.`, false);
  }

  /**
   * Keeps the machine's state in this browser (IndexedDB), and again each time the tab is hidden
   * or closed from then on (best effort: a closing tab may end before the save does); the next
   * load of the page offers to resume it.
   */
  async keepState(): Promise<void> {
    // Uncompressed: compressing takes a second or more, and a closing tab may not have it.
    const bytes = await this.#takeState(false);
    if (!bytes) return;
    try {
      await (await this.#keptStore()).put(this.name, bytes);
    } catch (error) {
      this.#stateMessage(`The state could not be kept in this browser: ${(error as Error).message}`, true);
      return;
    }
    this.#keepOnHide = true;
    this.#stateMessage(
      `Kept the VM's state in this browser (${(bytes.length / 1048576).toFixed(1)} MiB), and again whenever this tab is hidden or closed. ` +
        "The next load of this page offers to resume it.",
      false,
    );
  }

  #keptStore(): Promise<IdbStateStore> {
    return (this.#store ??= IdbStateStore.open("v86-msi-states"));
  }

  /** A state kept by an earlier visit: offer to resume it (the fresh boot goes on meanwhile). */
  async #offerKept(): Promise<void> {
    let kept: KeptState | null;
    try {
      kept = await (await this.#keptStore()).get(this.name);
    } catch {
      return; // no IndexedDB here (a private window, say): nothing was kept either
    }
    if (!kept) return;
    const when = new Date(kept.savedAt).toLocaleString();
    this.#part('[data-part="kept-offer-text"]').textContent = `This browser keeps a state of VM ${this.#o.index + 1} from ${when}.`;
    const offer = this.#part('[data-testid="kept-offer"]');
    offer.hidden = false;
    const resume = this.#control("resume-kept");
    resume.focus();
    resume.onclick = () => {
      offer.hidden = true;
      this.#keepOnHide = true;
      void this.restoreState(kept.bytes, `The state kept ${when}`);
    };
    this.#control("discard-kept").onclick = () => {
      offer.hidden = true;
      void this.#keptStore().then((store) => store.delete(this.name));
    };
  }

  /**
   * The machine's state file. The machine stops for the save and runs on after it (a paused one
   * stays paused). Null, with the reason shown, when it cannot be saved. `compressed`: gzip
   * (src/machine/state-file-gzip.ts), for a file to download; done once the VM runs again.
   */
  async #takeState(compressed = true): Promise<Uint8Array | null> {
    const saved = await this.#takeSaved();
    if (!saved) return null;
    return compressed ? packSavedMachine(saved) : encodeSavedMachine(saved);
  }

  async #takeSaved(): Promise<SavedMachine | null> {
    const m = this.machine;
    if (!m || this.#saving) return null;
    this.#saving = true;
    const buttons = [this.#control("save"), this.#control("keep")];
    for (const b of buttons) b.disabled = true;
    const wasPaused = this.state === "paused";
    this.#stopping = true;
    try {
      const { v86State, devices } = await saveMachine(m);
      // The guest is stopped and its disk quiet: the disk's bytes match the state exactly.
      const disk = this.disk ? await this.disk.overlay.exportImage() : null;
      if (this.machine !== m) return null;
      return { boot: pageSavedBoot(this.#built, disk !== null), devices, v86State, disk };
    } catch (error) {
      this.#stateMessage(`The state could not be saved: ${(error as Error).message}`, true);
      return null;
    } finally {
      if (this.machine === m && !wasPaused) {
        await m.resume();
        this.#stopping = false;
      }
      this.#saving = false;
      for (const b of buttons) b.disabled = this.machine === undefined;
    }
  }

  async #restoreFromInput(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    await this.restoreState(new Uint8Array(await file.arrayBuffer()), file.name);
  }

  /**
   * Replaces the VM with the machine saved in `bytes`. A file that is not a state file, or one
   * this page cannot rebuild, is refused before anything changes (the running VM goes on); a
   * state that v86 or our devices refuse while the new machine is built leaves no machine, and
   * the error panel says why (Restart this VM then boots afresh on the disk the VM had).
   */
  async restoreState(bytes: Uint8Array, label: string): Promise<void> {
    if (!this.#images) return;
    let saved: SavedMachine;
    let settings: PageSettings;
    try {
      saved = await unpackSavedMachine(bytes);
      settings = restoredSettings(this.#o.settings, saved.boot);
    } catch (error) {
      const message = `${label} cannot be restored: ${(error as Error).message}. ${this.machine ? "The VM was not changed." : ""}`;
      if (this.machine) this.#stateMessage(message, true);
      else this.showError(`${label} cannot be restored`, (error as Error).message, "Pick a file made by Save state (or by guest --save), or open the page without the state parameter.");
      return;
    }
    this.#part('[data-testid="state-message"]').hidden = true;
    await this.#teardown();
    this.#part('[data-testid="error"]').hidden = true;
    this.terminal.reset();
    await this.#boot({ saved, settings, label });
  }

  /** A line above the console about a save or a restore (an error is an alert). */
  #stateMessage(text: string, isError: boolean): void {
    const box = this.#part('[data-testid="state-message"]');
    this.#part('[data-part="state-message-text"]').textContent = text;
    box.classList.toggle("bad", isError);
    box.setAttribute("role", isError ? "alert" : "status");
    box.hidden = false;
  }

  /** Stops the machine and boots a new one in its place, over the same (or a new) disk. */
  async restart(disk?: PageDisk): Promise<void> {
    await this.#teardown();
    if (disk) this.disk = disk;
    this.#part('[data-testid="error"]').hidden = true;
    this.terminal.reset();
    await this.#boot();
  }

  /** Boots a machine, or builds one from a saved state (its settings, its disk) and restores it. */
  async #boot(restore?: { saved: SavedMachine; settings: PageSettings; label: string }): Promise<void> {
    const s = restore?.settings ?? this.#o.settings;
    this.#part('[data-part="progress-text"]').textContent = restore ? `Restoring ${restore.label}...` : "Booting Linux...";
    this.#part('[data-testid="progress"]').hidden = false;
    this.#status.set("booting");
    this.#sawPrompt = false;
    try {
      // A restored machine runs on the disk saved with it, in this tab's memory; the VM's own
      // disk is kept aside until the restore has worked (Restart after a failure uses it).
      let disk = this.disk;
      if (restore) {
        disk = restore.saved.disk
          ? await openPageDisk({ kind: "upload", name: `the disk of ${restore.label}`, image: restore.saved.disk.buffer as ArrayBuffer }, { persist: false, storeSuffix: "" })
          : null;
      }
      const devices: VirtioDevice[] = disk ? [pageBlockDevice(disk, s.diskReadOnly)] : [];
      this.#network = restore && s.net !== this.#o.settings.net && s.net !== "switch"
        ? createNetwork(parseNetworkChoice(s.net), { dohServer: s.doh })
        : this.#o.network();
      if (this.#network) devices.push(this.#network.device);
      this.machine = await Machine.create({
        images: this.#images!,
        wasmPath: wasmUrl,
        memoryMB: s.memoryMB,
        cmdline: kernelCmdline(s, this.guestIp),
        devices,
        // Devices offer both MSI modes; the kernel argument (kernelCmdline) tells the driver which.
        msi: s.msi ? {} : false,
        channelYield: s.channelYield,
        ...(this.#network ? { v86Options: this.#network.v86Options } : {}),
        ...(restore ? { restore: restoreFrom(restore.saved) } : {}),
      });
      this.#network?.attach(this.machine);
      this.disk = disk;
      this.#built = s;
    } catch (error) {
      this.#network?.backend.close();
      this.#network = null;
      if (restore) {
        this.showError(
          `${restore.label} could not be restored`,
          (error as Error).message,
          "Nothing of it was kept. Restart this VM boots it afresh; or pick another state file.",
        );
      } else {
        this.showError(
          "The emulator could not start",
          (error as Error).message,
          "Reload the page; if it happens again, open it with the default settings (no URL parameters).",
        );
      }
      return;
    }
    // A restored shell printed its prompt before the save: an empty line makes it print one again.
    if (restore) this.machine.sendSerial("\n");
    this.#part('[data-testid="progress"]').hidden = true;
    const asked = pageInterrupts(s);
    this.#status.begin(s.memoryMB, asked === "auto" ? "MSI" : IRQ_MODE_LABEL[asked], this.guestIp);
    this.#status.set("booting");
    this.#wire(this.machine);
    if (this.#o.index === 0) this.terminal.focus();
  }

  #wire(m: Machine): void {
    this.#wiring = new AbortController();
    const signal = this.#wiring.signal;
    let seen = "";
    const halts = new HaltWatch();
    m.onSerial((chunk) => {
      this.terminal.write(chunk);
      if (!this.#sawPrompt) {
        seen = (seen + chunk).slice(-64);
        if (seen.includes(PROMPT)) {
          this.#sawPrompt = true;
          if (this.state === "booting") this.#status.set("running");
        }
      }
      const halt = halts.feed(chunk);
      if (halt) {
        this.#status.set("stopped");
        this.showError(halt.title, halt.detail, halt.help);
      }
    });
    m.emulator.add_listener("emulator-stopped", () => {
      if (this.#stopping || this.machine !== m) return;
      this.showError(
        "The emulator stopped",
        "v86 stopped running the guest without being asked to.",
        "Restart this VM; if it stops again, reload the page. The browser console may say why.",
      );
    });

    // The mode the drivers took, as they take it (a few seconds into the boot).
    const showMode = (): void => {
      const { text, mode } = summariseIrqModes(m.devices.map((d) => ({ name: d.device.name, mode: deviceIrqMode(d) })), this.#built.msi ? this.#built.msiMode : "line");
      if (mode !== "none") this.#status.showMode(text, mode);
    };
    const modeTimer = setInterval(showMode, 500);
    signal.addEventListener("abort", () => clearInterval(modeTimer));

    this.#panel = new DevicePanel(this.#part('[data-testid="devices"]'), m, this.disk, this.#o.settings.charts);
    if (this.#o.settings.charts) this.#panel.start();
    else this.#panel.renderOnce("Live counters and charts are off (charts=0 in the URL).");

    const pause = this.#control("pause");
    pause.disabled = false;
    pause.textContent = "Pause";
    pause.setAttribute("aria-pressed", "false");
    pause.addEventListener("click", () => void this.#togglePause(pause), { signal });

    const link = this.#control("link");
    const nic = this.#network?.device;
    link.disabled = !nic;
    if (nic) {
      showLink(link, nic);
      link.addEventListener("click", () => toggleLink(link, nic), { signal });
    }

    const disk = this.disk;
    if (disk?.lazy) this.#watchLazyImage(disk.lazy, signal);
    const download = this.#control("download");
    const reset = this.#control("reset");
    const upload = this.#control<HTMLInputElement>("upload");
    download.disabled = reset.disabled = !disk;
    upload.disabled = false;
    this.#control("save").disabled = this.#control("keep").disabled = this.#saving;
    if (disk) {
      const filename = this.#o.index ? `disk-vm${this.#o.index + 1}.img` : "disk.img";
      download.addEventListener("click", () => void downloadDisk(disk, filename), { signal });
      reset.addEventListener(
        "click",
        async () => {
          if (!confirm(`Drop everything VM ${this.#o.index + 1} wrote to its disk and restart it from the original image?`)) return;
          await disk.overlay.reset();
          await this.restart();
        },
        { signal },
      );
    }
    upload.addEventListener("change", () => void this.#upload(upload), { signal });
  }

  /** A lazily fetched image fails reads when its server stalls or the image changes: the
   *  guest only sees I/O errors, so the pane says why. */
  #watchLazyImage(lazy: HttpRangeBackend, signal: AbortSignal): void {
    let timeouts = lazy.counters.timeouts;
    let told = false;
    const check = (): void => {
      if (lazy.error !== null && !told) {
        told = true;
        this.showNotice(
          `The disk image (${lazy.url}) changed on the server while this VM was reading it, so its reads now fail ` +
            "(I/O errors in the guest) rather than mix two images. Reload this tab to start from the new image.",
        );
      } else if (lazy.counters.timeouts > timeouts && !told) {
        timeouts = lazy.counters.timeouts;
        this.showNotice(`The server of ${lazy.url} did not answer in time; the guest got an I/O error for that read (${timeouts} so far).`);
      }
    };
    const timer = setInterval(check, 1000);
    signal.addEventListener("abort", () => clearInterval(timer));
  }

  async #togglePause(button: HTMLButtonElement): Promise<void> {
    const m = this.machine;
    if (!m) return;
    if (this.state === "paused") {
      await m.resume();
      this.#stopping = false;
      this.#status.set(this.#sawPrompt ? "running" : "booting");
      button.textContent = "Pause";
      button.setAttribute("aria-pressed", "false");
    } else {
      this.#stopping = true;
      this.#status.set("paused");
      button.textContent = "Resume";
      button.setAttribute("aria-pressed", "true");
      await m.pause();
    }
  }

  async #upload(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    let disk: PageDisk;
    try {
      disk = await openPageDisk({ kind: "upload", name: file.name, image: await file.arrayBuffer() }, { persist: false, storeSuffix: "" });
    } catch (error) {
      this.showError(`${file.name} cannot be used as a disk`, (error as Error).message, "Pick another image file (a raw disk image, such as one made with mke2fs or dd).");
      return;
    }
    await this.restart(disk);
  }

  async #teardown(): Promise<void> {
    this.#wiring.abort();
    this.#panel?.stop();
    this.#panel = null;
    for (const name of ["pause", "link", "download", "reset", "upload", "save", "keep"]) this.#control<HTMLButtonElement>(name).disabled = true;
    const m = this.machine;
    this.machine = undefined;
    this.#stopping = true;
    try {
      await m?.destroy();
    } finally {
      this.#stopping = false;
      // A switch port keeps the machine's addresses until it is closed.
      this.#network?.backend.close();
      this.#network = null;
    }
  }
}
