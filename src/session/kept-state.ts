// A VM's state kept in this browser ("Keep state here"): the IndexedDB record under the VM's
// name (src/browser/idb-state-store.ts), whether the tab keeps it again when hidden, and the
// offer a later visit makes to resume it or discard it. The bytes are a state file like any
// other (docs/save-restore.md); the VM session (vm-session.ts) takes and restores them, and
// tells the view what happened. No DOM.

import { IdbStateStore } from "../browser/idb-state-store.ts";

/** The IndexedDB store of kept states, unless the session is given another. */
export const KEPT_STATES_STORE = "v86-msi-states";

export class StateKeeper {
  readonly #name: string;
  readonly #open: () => Promise<IdbStateStore>;
  #store: Promise<IdbStateStore> | null = null;
  /** Set once the user kept a state (or resumed one): the tab keeps it again when hidden. */
  #keepOnHide = false;
  /** A state an earlier visit kept, while it is on offer. */
  #offered: { bytes: Uint8Array; when: string } | null = null;

  /** `name`: the VM's ("vm1"); `open`: where kept states live (default the browser's IndexedDB). */
  constructor(name: string, open?: () => Promise<IdbStateStore>) {
    this.#name = name;
    this.#open = open ?? (() => IdbStateStore.open(KEPT_STATES_STORE));
  }

  /** Whether the page's going away (hidden, closed) should keep the state again. */
  get keepsOnHide(): boolean {
    return this.#keepOnHide;
  }

  /** Stores `bytes` as this VM's kept state (throws if the browser refuses), and keeps it on hide from now on. */
  async keep(bytes: Uint8Array): Promise<void> {
    await (await this.#storeOnce()).put(this.#name, bytes);
    this.#keepOnHide = true;
  }

  /**
   * Looks for a state an earlier visit kept and puts it on offer: resolves with when it was
   * kept (a local date and time), or null when none was (or the browser has no IndexedDB, as in
   * a private window: then nothing was kept either).
   */
  async offer(): Promise<string | null> {
    let kept;
    try {
      kept = await (await this.#storeOnce()).get(this.#name);
    } catch {
      return null;
    }
    if (!kept) return null;
    this.#offered = { bytes: kept.bytes, when: new Date(kept.savedAt).toLocaleString() };
    return this.#offered.when;
  }

  /**
   * Takes the state on offer to resume it (null when none is): the offer ends, and the resumed
   * VM keeps its state again when hidden.
   */
  takeOffered(): { bytes: Uint8Array; label: string } | null {
    const offered = this.#offered;
    if (!offered) return null;
    this.#offered = null;
    this.#keepOnHide = true;
    return { bytes: offered.bytes, label: `The state kept ${offered.when}` };
  }

  /** Drops the state on offer from the browser. */
  async discardOffered(): Promise<void> {
    if (!this.#offered) return;
    this.#offered = null;
    await (await this.#storeOnce()).delete(this.#name);
  }

  #storeOnce(): Promise<IdbStateStore> {
    return (this.#store ??= this.#open());
  }
}
