// One VM of the page without its view: its machine's life (boot, pause/resume, restart in place
// over the same disk or one the user uploaded, save to and restore from a state file, a state
// kept in this browser: kept-state.ts), its disk and network, and what went wrong. No DOM: the pane
// (src/ui/vm-view.ts) renders what this tells it and forwards the user's actions here, and
// window.v86msi reads the sessions themselves.

import { watchDiskLock } from "../browser/disk-lock.ts";
import type { IdbStateStore } from "../browser/idb-state-store.ts";
import type { NetDevice } from "../devices/net/device.ts";
import { createNetwork, parseNetworkChoice, type GuestNetwork } from "../machine/network.ts";
import { restoreFrom, saveMachine } from "../machine/save-machine.ts";
import { encodeSavedMachine, StateFileError, type SavedMachine } from "../machine/state-file.ts";
import { packSavedMachine, stateFileSizeProblem, unpackSavedMachine } from "../machine/state-file-gzip.ts";
import { Machine, type MachineImages } from "../machine/machine.ts";
import { diskSizeProblem } from "../platform/machine-limits.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { StateKeeper } from "./kept-state.ts";
import { watchMachine } from "./machine-watch.ts";
import { openPageDisk, pageBlockDevice, type DiskSource, type PageDisk } from "./page-disk.ts";
import { RunClock, type MachineState } from "./run-clock.ts";
import { pageSavedBoot, restoredSettings } from "./saved-state.ts";
import { kernelCmdline, pageInterrupts, type PageSettings } from "./settings.ts";
import type { DebugVm } from "./snapshot.ts";

/** Something that stops the VM, for the error panel: what happened, and what to do next. */
export interface VmProblem {
  readonly title: string;
  readonly text: string;
  readonly help: string;
}

/** What the session tells its view. Each call is about the session's current machine. */
export interface VmSessionView {
  /** The state changed. */
  state(state: MachineState): void;
  /** A machine is being built; `text` says which way ("Booting Linux...", "Restoring X..."). */
  building(text: string): void;
  /** The old machine is gone and another takes its place: its console and error go too. */
  replacing(): void;
  /** A machine runs (booted or restored): its controls, panel and status come alive. */
  started(machine: Machine): void;
  /** The machine went: its controls go dead until the next one starts. */
  ended(): void;
  /** The guest's console output. */
  serial(chunk: string): void;
  /** The VM cannot go on (state "error"). */
  problem(p: VmProblem): void;
  /** A lasting line about the VM's disk. */
  notice(text: string): void;
  /** A line about a save or a restore (an error is an alert), or null to take it away. */
  stateMessage(text: string | null, isError: boolean): void;
  /** An earlier visit kept a state of this VM in the browser (from `when`): offer it. */
  keptOffer(when: string): void;
  /** The interrupt mode the drivers took, summed up (`mode`: queue, table, line, mixed). */
  mode(text: string, mode: string): void;
  /** A save started (true) or ended (false). */
  saving(busy: boolean): void;
}

export interface VmSessionOptions {
  /** 0 for VM 1. */
  readonly index: number;
  readonly settings: PageSettings;
  /** Static address for the kernel command line (guest.ip), or null for DHCP / no network. */
  readonly guestIp: string | null;
  /** A new network for each boot (a fresh adapter or switch port), or null for none. */
  readonly network: () => GuestNetwork | null;
  /** v86's WebAssembly module, where the page serves it. */
  readonly wasmPath: string;
  /** Instantiates that module from one the page compiled once (MachineOptions.instantiateWasm). */
  readonly instantiateWasm?: (imports: Record<string, unknown>) => Promise<unknown>;
  /** Calls its argument when the page goes away: a disk kept in IndexedDB saves then, once more. */
  readonly onPageHide?: (last: () => void) => void;
  /** Where kept states live; default the browser's IndexedDB store "v86-msi-states". */
  readonly keptStore?: () => Promise<IdbStateStore>;
}

export class VmSession implements DebugVm {
  readonly name: string;
  readonly index: number;
  readonly guestIp: string | null;
  /** The page's settings (a restored VM is built with its file's: see `built`). */
  readonly settings: PageSettings;
  machine: Machine | undefined;
  disk: PageDisk | null = null;
  readonly #o: VmSessionOptions;
  readonly #clock = new RunClock();
  #view: VmSessionView | null = null;
  #images: MachineImages | null = null;
  #network: GuestNetwork | null = null;
  /** Timers and watches of one machine; aborted when it goes. */
  #wiring = new AbortController();
  /** True while we stop the emulator ourselves (pause, save, restart): its "stopped" is no halt. */
  #stopping = false;
  #sawPrompt = false;
  #saving = false;
  /** The state kept in this browser, and the offer to resume one (kept-state.ts). */
  readonly #kept: StateKeeper;
  /** The settings the current machine was built with: the page's, or a restored file's. */
  #built: PageSettings;

  constructor(o: VmSessionOptions) {
    this.#o = o;
    this.index = o.index;
    this.name = `vm${o.index + 1}`;
    this.guestIp = o.guestIp;
    this.settings = o.settings;
    this.#built = o.settings;
    this.#kept = new StateKeeper(this.name, o.keptStore);
  }

  /** The view that renders this session (one; set before start). */
  attach(view: VmSessionView): void {
    this.#view = view;
  }

  get state(): MachineState {
    return this.#clock.state;
  }

  /** Guest running time in ms (pauses not counted); `begun` false until a machine has begun. */
  get ranMs(): number {
    return this.#clock.ranMs;
  }

  get begun(): boolean {
    return this.#clock.begun;
  }

  get network(): DebugVm["network"] {
    return this.#network?.backend ?? null;
  }

  get devices(): DebugVm["devices"] {
    return this.machine?.devices ?? [];
  }

  /** The current machine's NIC, or null. */
  get nic(): NetDevice | null {
    return this.#network?.device ?? null;
  }

  /** The settings the current machine was built with: the page's, or a restored state file's. */
  get built(): PageSettings {
    return this.#built;
  }

  /** Whether Restart can build a machine (the images loaded). */
  get canRestart(): boolean {
    return this.#images !== null;
  }

  get saving(): boolean {
    return this.#saving;
  }

  /** Keys typed while a restore replaces the machine: the restored one gets them (null: none under way). */
  #typedAhead: string | null = null;

  /** Text typed into the console, for the guest. */
  sendSerial(text: string): void {
    if (this.#typedAhead !== null) this.#typedAhead += text;
    else this.machine?.sendSerial(text);
  }

  /** Ends typing ahead: what was typed goes to `to` (the restored machine, or the one kept), or nowhere. */
  #endTypedAhead(to: Machine | undefined): void {
    const typed = this.#typedAhead;
    this.#typedAhead = null;
    if (typed) to?.sendSerial(typed);
  }

  #setState(state: MachineState): void {
    this.#clock.set(state);
    this.#view?.state(state);
  }

  /** The VM cannot go on: the state is "error" and the view says why. */
  fail(p: VmProblem): void {
    this.#setState("error");
    this.#view?.problem(p);
  }

  /**
   * First boot: opens the disk, then starts the machine, or restores it from `state` (a state
   * file's bytes; `label` names it in messages) when given. A fresh boot then offers a state
   * an earlier visit kept in this browser.
   */
  async start(images: MachineImages, disk: DiskSource | null, state?: { bytes: Uint8Array; label: string }): Promise<void> {
    this.#images = images;
    if (disk) {
      try {
        this.disk = await openPageDisk(disk, {
          persist: this.settings.persist,
          storeSuffix: this.index ? `#vm${this.index + 1}` : "",
          ...(this.#o.onPageHide ? { onPageHide: this.#o.onPageHide } : {}),
        });
      } catch (error) {
        this.fail({ title: "The disk could not be opened", text: (error as Error).message, help: "Reload the page; if it fails again, open it without the disk or lazy parameters." });
        return;
      }
      if (this.disk.keptElsewhere !== undefined) this.#noticeKeptElsewhere(this.disk.keptElsewhere);
    }
    if (state) {
      await this.restoreState(state.bytes, state.label);
    } else {
      await this.#boot();
      const when = await this.#kept.offer();
      if (when !== null) this.#view?.keptOffer(when);
    }
  }

  /** The disk was to be kept, but another tab keeps it: say so, and say when that tab lets go. */
  #noticeKeptElsewhere(lockName: string): void {
    this.#view?.notice(
      "This disk is open in another tab, which keeps it. This VM runs on a temporary copy of the original image: " +
        "what it writes is lost when this tab closes or reloads. To keep the disk here, close the other tab, then reload this one.",
    );
    watchDiskLock(lockName, () =>
      this.#view?.notice(
        "The other tab has let go of the disk. Reload this tab to use the kept disk " +
          "(what this VM wrote to its temporary copy is then dropped).",
      ),
    );
  }

  /**
   * The running machine as a state file (the same format as `guest --save`,
   * src/machine/state-file.ts, so either can restore the other's files). The machine stops for
   * the save and runs on after it (a paused one stays paused). Null when there is no machine or
   * a save is under way, or, with the reason told to the view, when it cannot be saved.
   * `compressed`: gzip (src/machine/state-file-gzip.ts), for a file to download; done once the
   * VM runs again.
   */
  async takeState(compressed = true): Promise<Uint8Array | null> {
    const saved = await this.#takeSaved();
    if (!saved) return null;
    try {
      return compressed ? await packSavedMachine(saved) : encodeSavedMachine(saved);
    } catch (error) {
      // A device state over its limit (docs/save-restore.md, "Limits"): said, the VM runs on.
      this.#view?.stateMessage(`The state could not be saved: ${(error as Error).message}`, true);
      return null;
    }
  }

  async #takeSaved(): Promise<SavedMachine | null> {
    const m = this.machine;
    if (!m || this.#saving) return null;
    this.#saving = true;
    this.#view?.saving(true);
    const wasPaused = this.state === "paused";
    this.#stopping = true;
    try {
      const { v86State, devices } = await saveMachine(m);
      // The guest is stopped and its disk quiet: the disk's bytes match the state exactly.
      const disk = this.disk ? await this.disk.overlay.exportImage() : null;
      if (this.machine !== m) return null;
      return { boot: pageSavedBoot(this.#built, disk !== null), devices, v86State, disk };
    } catch (error) {
      this.#view?.stateMessage(`The state could not be saved: ${(error as Error).message}`, true);
      return null;
    } finally {
      if (this.machine === m && !wasPaused) {
        await m.resume();
        this.#stopping = false;
      }
      this.#saving = false;
      this.#view?.saving(false);
    }
  }

  /**
   * Keeps the machine's state in this browser (IndexedDB), and again each time the page is
   * hidden or closed from then on (best effort: a closing tab may end before the save does); the
   * next load of the page offers to resume it.
   */
  async keepState(): Promise<void> {
    // Uncompressed: compressing takes a second or more, and a closing tab may not have it.
    const bytes = await this.takeState(false);
    if (!bytes) return;
    try {
      await this.#kept.keep(bytes);
    } catch (error) {
      this.#view?.stateMessage(`The state could not be kept in this browser: ${(error as Error).message}`, true);
      return;
    }
    this.#view?.stateMessage(
      `Kept the VM's state in this browser (${(bytes.length / 1048576).toFixed(1)} MiB), and again whenever this tab is hidden or closed. ` +
        "The next load of this page offers to resume it.",
      false,
    );
  }

  /** The page was hidden (or is closing): a VM whose state the user keeps keeps it again now. */
  async pageHidden(): Promise<void> {
    if (this.#kept.keepsOnHide) await this.keepState();
  }

  /** Resumes the state on offer: the VM is replaced by it, and keeps its state again when hidden. */
  async resumeKept(): Promise<void> {
    const offered = this.#kept.takeOffered();
    if (offered) await this.restoreState(offered.bytes, offered.label);
  }

  /** Drops the state on offer from the browser. */
  async discardKept(): Promise<void> {
    await this.#kept.discardOffered();
  }

  /**
   * Replaces the VM with the machine saved in `bytes`. A file that is not a state file, or one
   * this page cannot rebuild, is refused before anything changes (the running VM goes on); a
   * state that v86 or our devices refuse while the new machine is built leaves no machine, and
   * the VM fails saying why (Restart then boots afresh on the disk the VM had).
   */
  async restoreState(bytes: Uint8Array, label: string): Promise<void> {
    if (!this.#images) return;
    let saved: SavedMachine;
    let settings: PageSettings;
    let notes: string[];
    // Keys typed from here on belong to the restored machine (or, if the file is refused, to
    // this one): none is lost to a machine on its way out (docs/save-restore.md).
    this.#typedAhead ??= "";
    try {
      saved = await unpackSavedMachine(bytes);
      ({ settings, notes } = restoredSettings(this.settings, saved.boot));
    } catch (error) {
      this.#endTypedAhead(this.machine);
      this.#restoreRefused(label, error as Error);
      return;
    }
    this.#view?.stateMessage(null, false);
    try {
      await this.#teardown();
      this.#view?.replacing();
      await this.#boot({ saved, settings, label });
    } finally {
      if (this.#typedAhead !== null) this.#endTypedAhead(this.machine);
    }
    if (notes.length > 0 && this.machine) this.#view?.stateMessage(notes.join(" "), false);
  }

  /** A state refused before anything changed: said above the running VM, or in the error panel when there is none. */
  #restoreRefused(label: string, error: Error): void {
    const message = `${label} cannot be restored: ${error.message}. ${this.machine ? "The VM was not changed." : ""}`;
    if (this.machine) this.#view?.stateMessage(message, true);
    else this.fail({ title: `${label} cannot be restored`, text: error.message, help: "Pick a file made by Save state (or by guest --save), or open the page without the state parameter." });
  }

  /** restoreState for a file the user picked: one over the state file limit is refused before it is read. */
  async restoreStateFile(file: Blob, label: string): Promise<void> {
    if (!this.#images) return;
    const tooBig = stateFileSizeProblem(file.size);
    // The same refusal the reader gives (it checks the size first), without reading the file.
    if (tooBig !== null) return this.#restoreRefused(label, new StateFileError(tooBig));
    // Keys typed while the file is read belong to the restored machine too: the read of a few
    // MiB can take long enough on a busy host for a line typed at once to reach the old one.
    this.#typedAhead ??= "";
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (error) {
      this.#endTypedAhead(this.machine);
      return this.#restoreRefused(label, error as Error);
    }
    return this.restoreState(bytes, label);
  }

  /** Stops the machine and boots a new one in its place, over the same (or a new) disk. */
  async restart(disk?: PageDisk): Promise<void> {
    await this.#teardown();
    if (disk) this.disk = disk;
    this.#view?.replacing();
    await this.#boot();
  }

  /** Drops everything the guest wrote to its disk and restarts the VM from the original image. */
  async resetDisk(): Promise<void> {
    if (!this.disk) return;
    await this.disk.overlay.reset();
    await this.restart();
  }

  /** Makes an image the user picked the VM's disk (in this tab's memory only) and restarts on it. */
  async uploadDisk(name: string, image: ArrayBuffer): Promise<void> {
    let disk: PageDisk;
    try {
      const tooBig = diskSizeProblem(image.byteLength);
      if (tooBig !== null) throw new Error(tooBig);
      disk = await openPageDisk({ kind: "upload", name, image }, { persist: false, storeSuffix: "" });
    } catch (error) {
      this.fail({ title: `${name} cannot be used as a disk`, text: (error as Error).message, help: "Pick another image file (a raw disk image, such as one made with mke2fs or dd)." });
      return;
    }
    await this.restart(disk);
  }

  /** Pauses the guest (its clock stops too). */
  async pause(): Promise<void> {
    const m = this.machine;
    if (!m || this.state === "paused") return;
    this.#stopping = true;
    this.#setState("paused");
    await m.pause();
  }

  /** Resumes a paused guest. */
  async resume(): Promise<void> {
    const m = this.machine;
    if (!m || this.state !== "paused") return;
    await m.resume();
    this.#stopping = false;
    this.#setState(this.#sawPrompt ? "running" : "booting");
  }

  async togglePause(): Promise<void> {
    await (this.state === "paused" ? this.resume() : this.pause());
  }

  /** Takes the NIC's link down or up (the guest sees a config change); false without a NIC. */
  toggleLink(): boolean {
    const nic = this.nic;
    if (!nic) return false;
    nic.setLink(!nic.linkUp);
    return true;
  }

  /** Boots a machine, or builds one from a saved state (its settings, its disk) and restores it. */
  async #boot(restore?: { saved: SavedMachine; settings: PageSettings; label: string }): Promise<void> {
    const s = restore?.settings ?? this.settings;
    this.#view?.building(restore ? `Restoring ${restore.label}...` : "Booting Linux...");
    this.#setState("booting");
    this.#sawPrompt = false;
    let m: Machine;
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
      this.#network = restore && s.net !== this.settings.net && s.net !== "switch"
        ? createNetwork(parseNetworkChoice(s.net), { dohServer: s.doh })
        : this.#o.network();
      if (this.#network) devices.push(this.#network.device);
      m = await Machine.create({
        images: this.#images!,
        wasmPath: this.#o.wasmPath,
        ...(this.#o.instantiateWasm ? { instantiateWasm: this.#o.instantiateWasm } : {}),
        memoryMB: s.memoryMB,
        cmdline: kernelCmdline(s, this.guestIp),
        devices,
        // Devices offer both MSI modes; the kernel argument (kernelCmdline) tells the driver which.
        msi: s.msi ? { layout: s.msiLayout } : false,
        channelYield: s.channelYield,
        ...(this.#network ? { v86Options: this.#network.v86Options } : {}),
        ...(restore ? { restore: restoreFrom(restore.saved) } : {}),
      });
      this.machine = m;
      this.#network?.attach(m);
      this.disk = disk;
      this.#built = s;
    } catch (error) {
      this.#network?.backend.close();
      this.#network = null;
      this.#endTypedAhead(undefined);
      this.fail(
        restore
          ? { title: `${restore.label} could not be restored`, text: (error as Error).message, help: "Nothing of it was kept. Restart this VM boots it afresh; or pick another state file." }
          : { title: "The emulator could not start", text: (error as Error).message, help: "Reload the page; if it happens again, open it with the default settings (no URL parameters)." },
      );
      return;
    }
    // A restored shell printed its prompt before the save: an empty line makes it print one again.
    if (restore) m.sendSerial("\n");
    this.#endTypedAhead(m);
    this.#clock.begin();
    this.#setState("booting");
    this.#wire(m);
    this.#view?.started(m);
  }

  /** Watches the new machine for as long as it is the session's. */
  #wire(m: Machine): void {
    this.#wiring = new AbortController();
    watchMachine(m, {
      asked: pageInterrupts(this.#built),
      ...(this.disk?.lazy ? { lazy: this.disk.lazy } : {}),
      signal: this.#wiring.signal,
      serial: (chunk) => this.#view?.serial(chunk),
      prompt: () => {
        this.#sawPrompt = true;
        if (this.state === "booting") this.#setState("running");
      },
      halted: (halt) => {
        this.#setState("stopped");
        this.fail({ title: halt.title, text: halt.detail, help: halt.help });
      },
      emulatorStopped: () => {
        if (this.#stopping || this.machine !== m) return;
        this.fail({
          title: "The emulator stopped",
          text: "v86 stopped running the guest without being asked to.",
          help: "Restart this VM; if it stops again, reload the page. The browser console may say why.",
        });
      },
      mode: (text, mode) => this.#view?.mode(text, mode),
      notice: (text) => this.#view?.notice(text),
    });
  }

  async #teardown(): Promise<void> {
    this.#wiring.abort();
    this.#view?.ended();
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
