// A scriptable view of the guest's serial console: wait for text, run a shell command and get
// exactly its output and exit status. Works on anything with onSerial/sendSerial (the Machine).
//
// The serial port gives one character per event, and a guest may print megabytes. So what is
// kept is bounded (the text since the last match: a little while nobody waits, up to
// `maxCapture` characters while something does; the log: its last megabyte), and waiting is
// incremental: new text is searched once per batch of characters (a microtask after they
// arrive), from just far enough back that a match spanning the old and new text is found.

import { TextBlocks } from "./text-blocks.ts";

export interface SerialPort {
  onSerial(listener: (text: string) => void): () => void;
  sendSerial(text: string): void;
}

export interface ExecResult {
  output: string;
  status: number;
}

export interface WaitResult {
  match: RegExpExecArray;
  /** The text between the previous match (or the start) and this one. */
  before: string;
  /** Characters that came before `before` but were dropped to bound memory (0 normally). */
  dropped: number;
}

export interface GuestConsoleOptions {
  /** Most characters held between matches while something waits (an exec's output). */
  maxCapture?: number;
}

export class TimeoutError extends Error {
  constructor(what: string, seconds: number, tail: string) {
    super(`timed out after ${seconds} s waiting for ${what}; the console's last lines:\n${tail}`);
    this.name = "TimeoutError";
  }
}

export class OutputTooLongError extends Error {
  constructor(command: string, max: number) {
    super(`the output of \`${command}\` was longer than ${max} characters (the console keeps no more)`);
    this.name = "OutputTooLongError";
  }
}

/** What an exec may print, by default (a 32 MiB file through `cat`). */
export const DEFAULT_MAX_CAPTURE = 32 * 1024 * 1024;
/** Unconsumed text kept while nobody waits, so a wait started just after a prompt still finds it. */
export const IDLE_KEEP = 128 * 1024;
/** A regular expression is found when its match is at most this long, even if the text that
 *  makes it up arrives in pieces (a string pattern: whatever its length). */
export const MAX_REGEX_MATCH = 1024;
/** The log keeps at least the last megabyte and at most two. */
const LOG_KEEP = 1_000_000;

// Control characters the shell prints but the echoed command line does not contain (it holds
// the printf escape text instead), so the markers cannot match the echo.
const SOH = "\u0001";
const STX = "\u0002";

interface Waiter {
  re: RegExp;
  /** How far back from the already searched text a match may start. */
  reach: number;
  found(result: WaitResult): void;
}

export class GuestConsole {
  /** The text since the last match. */
  #pending = new TextBlocks();
  /** Characters dropped from the front of #pending since the last match. */
  #dropped = 0;
  /** How much of #pending every waiter has searched. */
  #searched = 0;
  #searchQueued = false;
  #log = new TextBlocks();
  readonly #port: SerialPort;
  readonly #maxCapture: number;
  #waiters = new Set<Waiter>();
  #sequence = 0;

  constructor(port: SerialPort, options: GuestConsoleOptions = {}) {
    this.#port = port;
    this.#maxCapture = Math.max(1024, options.maxCapture ?? DEFAULT_MAX_CAPTURE);
    port.onSerial((text) => this.#receive(text));
  }

  /** All console output so far (at least its last megabyte). */
  get log(): string {
    return this.#log.text();
  }

  /** Characters held for matching (the text since the last match, bounded). */
  get held(): number {
    return this.#pending.length;
  }

  send(text: string): void {
    this.#port.sendSerial(text);
  }

  /**
   * Resolves once `pattern` appears in the output received since the last match, with the
   * match and the text before it (both consumed), or rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<WaitResult> {
    const re = typeof pattern === "string" ? new RegExp(escapeRegExp(pattern)) : pattern;
    const reach = typeof pattern === "string" ? pattern.length : MAX_REGEX_MATCH;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new TimeoutError(String(pattern), timeoutMs / 1000, this.tail(8)));
      }, timeoutMs);
      const waiter: Waiter = {
        re,
        reach,
        found: (result) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(result);
        },
      };
      // What arrived before the wait began is searched once, whole.
      if (!this.#search(waiter, 0)) this.#waiters.add(waiter);
    });
  }

  /** Runs `command` in the guest's shell; resolves with its output (\n line ends) and exit status. */
  async exec(command: string, timeoutMs: number): Promise<ExecResult> {
    const n = ++this.#sequence;
    // The subshell keeps `exit` or `cd` in the command from ending or moving the login shell;
    // stdin from /dev/null so a command that reads input cannot swallow what we type next.
    this.#consume(this.#pending.length);
    this.send(`printf '\\001B%d\\002\\n' ${n}; (${command}) </dev/null; printf '\\001E%d %d\\002\\n' ${n} $?\n`);
    await this.waitFor(`${SOH}B${n}${STX}\r\n`, timeoutMs);
    const { match, before, dropped } = await this.waitFor(new RegExp(`${SOH}E${n} (\\d+)${STX}\r\n`), timeoutMs);
    if (dropped > 0) throw new OutputTooLongError(command, this.#maxCapture);
    return { output: before.replace(/\r\n/g, "\n"), status: Number(match[1]) };
  }

  /** The last `lines` lines of output, for error messages. */
  tail(lines: number): string {
    return this.#log.tail(lines * 200).split(/\r?\n/).slice(-lines).join("\n");
  }

  #receive(text: string): void {
    this.#log.append(text);
    if (this.#log.length > 2 * LOG_KEEP) this.#log.dropHead(this.#log.length - LOG_KEEP);
    this.#pending.append(text);
    const dropped = this.#pending.bound(this.#waiters.size > 0 ? this.#maxCapture : IDLE_KEEP);
    if (dropped > 0) {
      this.#dropped += dropped;
      this.#searched = Math.max(0, this.#searched - dropped);
    }
    if (this.#waiters.size > 0 && !this.#searchQueued) {
      this.#searchQueued = true;
      queueMicrotask(() => this.#searchNew());
    }
  }

  /** Searches what arrived since the last search, for every waiter. */
  #searchNew(): void {
    this.#searchQueued = false;
    for (const waiter of [...this.#waiters]) {
      if (!this.#waiters.has(waiter)) continue;
      // A match may have started up to `reach - 1` characters into the text already searched.
      if (this.#search(waiter, Math.max(0, this.#searched - (waiter.reach - 1)))) {
        // What is left after the match is new to the other waiters.
        this.#searched = 0;
      }
    }
    this.#searched = this.#pending.length;
  }

  /** Looks for the waiter's pattern in #pending from `from`; on a match consumes it and tells the waiter. */
  #search(waiter: Waiter, from: number): boolean {
    const length = this.#pending.length;
    if (from >= length) return false;
    waiter.re.lastIndex = 0; // a /g or /y pattern would otherwise start where its last use ended
    const match = waiter.re.exec(this.#pending.tail(length - from));
    if (!match) return false;
    const start = from + match.index;
    const all = this.#pending.text();
    const before = all.slice(0, start);
    const dropped = this.#dropped;
    this.#consume(start + match[0].length);
    waiter.found({ match, before, dropped });
    return true;
  }

  /** Forgets the first `n` characters of #pending (a match and what came before it). */
  #consume(n: number): void {
    this.#pending.dropHead(n);
    this.#dropped = 0;
    this.#searched = 0;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
