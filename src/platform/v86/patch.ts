// Every change we make to a running v86 is one of these: a small object that installs itself,
// takes itself back out, and checks that the part of v86 it relies on is still there and still
// behaves as assumed (README, "Architecture", lists them). Nothing outside src/platform/v86
// touches v86's internals (src/layers.test.ts enforces it).

/** What uninstall found. */
export type UninstallOutcome =
  /** v86's own function (or state) is back. */
  | "restored"
  /** Someone replaced our function after we installed it: theirs was left in place. */
  | "displaced"
  /** Nothing to take back (never installed, already uninstalled, or nothing v86 can undo). */
  | "nothing";

export interface V86Patch {
  /** Short and stable: shown in the debug snapshot and the CLI's --stats. */
  readonly name: string;
  /** Whether install() has run and uninstall() has not. */
  readonly installed: boolean;
  install(): void;
  uninstall(): UninstallOutcome;
  /** What is wrong, in words; empty when the patch's assumptions about v86 hold now. */
  selfCheck(): string[];
}

/**
 * Replaces `owner[key]` with `ours` and gives it back only while it is still ours: a hook that
 * someone replaced after us stays theirs (their wrapper may call ours, which then stays correct).
 */
export class MethodSwap<O extends object, K extends keyof O> {
  readonly #owner: O;
  readonly #key: K;
  #original: O[K] | undefined;
  #ours: O[K] | undefined;
  /** Uninstalls that found another function in our place and left it there. */
  displaced = 0;

  constructor(owner: O, key: K) {
    this.#owner = owner;
    this.#key = key;
  }

  get installed(): boolean {
    return this.#ours !== undefined;
  }

  /** v86's function as it was before install (undefined when not installed). */
  get original(): O[K] | undefined {
    return this.#original;
  }

  /** Whether the owner's property is ours right now. */
  get live(): boolean {
    return this.#ours !== undefined && this.#owner[this.#key] === this.#ours;
  }

  /** `make` gets v86's current function and returns ours. */
  install(make: (original: O[K]) => O[K]): void {
    if (this.#ours !== undefined) throw new Error(`${String(this.#key)} is already patched`);
    const original = this.#owner[this.#key];
    if (typeof original !== "function") throw new Error(`v86: ${String(this.#key)} is not a function (unsupported v86 version)`);
    this.#original = original;
    this.#ours = make(original);
    this.#owner[this.#key] = this.#ours;
  }

  uninstall(): UninstallOutcome {
    if (this.#ours === undefined) return "nothing";
    const stillOurs = this.#owner[this.#key] === this.#ours;
    if (stillOurs) {
      // An own property that shadowed the prototype's goes away; one that was own is put back.
      if (Object.getPrototypeOf(this.#owner)?.[this.#key] === this.#original && Object.hasOwn(this.#owner, this.#key)) {
        delete this.#owner[this.#key];
        if (this.#owner[this.#key] !== this.#original) this.#owner[this.#key] = this.#original!;
      } else {
        this.#owner[this.#key] = this.#original!;
      }
    } else {
      this.displaced++;
    }
    this.#ours = undefined;
    this.#original = undefined;
    return stillOurs ? "restored" : "displaced";
  }
}

/** One line per patch for a report: name, live or not, and what its self-check says. */
export interface PatchReport {
  readonly name: string;
  readonly installed: boolean;
  readonly problems: readonly string[];
}

export function patchReports(patches: readonly V86Patch[]): PatchReport[] {
  return patches.map((p) => ({ name: p.name, installed: p.installed, problems: p.selfCheck() }));
}
