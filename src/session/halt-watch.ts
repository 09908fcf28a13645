// Recognises, in the guest's console output, that the guest has stopped for good: a kernel
// panic or a power-off/halt. The kernel prints these at KERN_EMERG, which still reaches the
// console after the guest's init turned kernel messages down (dmesg -n 1). Only at the start of
// a line (after the kernel's timestamp), so a typed command that mentions them does not count.
// Pure: unit-tested.

export interface Halt {
  title: string;
  detail: string;
  help: string;
}

const PATTERNS: Array<[RegExp, (m: RegExpExecArray) => Halt]> = [
  [
    /^(?:\[[^\]]*\]\s*)?Kernel panic - not syncing: ?([^\r\n]*)/m,
    (m) => ({
      title: "The guest kernel panicked",
      detail: `Kernel panic: ${m[1]?.trim() || "(no reason given)"}`,
      help: "The guest cannot go on. Restart this VM (the disk keeps what reached it); if it panics again at boot, reset the disk or open the page with the default settings.",
    }),
  ],
  [
    /^(?:\[[^\]]*\]\s*)?reboot: (Power down|System halted)/m,
    (m) => ({
      title: m[1] === "Power down" ? "The guest powered off" : "The guest halted",
      detail: `The kernel said "reboot: ${m[1]}": the emulated CPU has stopped running the guest.`,
      help: "Restart this VM to boot it again (the disk keeps what reached it), or download the disk first.",
    }),
  ],
];

/** Watches a stream of console text (chunks may split a line) for a halt. */
export class HaltWatch {
  #tail = "";

  /** Returns the halt the first time the text shows one. */
  feed(chunk: string): Halt | null {
    this.#tail = (this.#tail + chunk).slice(-400);
    // Only whole lines: the reason after "not syncing:" may still be arriving.
    const end = this.#tail.lastIndexOf("\n");
    if (end < 0) return null;
    const lines = this.#tail.slice(0, end);
    for (const [re, make] of PATTERNS) {
      const m = re.exec(lines);
      if (m) {
        this.#tail = "";
        return make(m);
      }
    }
    this.#tail = this.#tail.slice(end + 1);
    return null;
  }
}
