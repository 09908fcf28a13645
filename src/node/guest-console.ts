// A scriptable view of the guest's serial console: wait for text, run a shell command and get
// exactly its output and exit status. Works on anything with onSerial/sendSerial (the Machine).

export interface SerialPort {
  onSerial(listener: (text: string) => void): () => void;
  sendSerial(text: string): void;
}

export interface ExecResult {
  output: string;
  status: number;
}

export class TimeoutError extends Error {
  constructor(what: string, seconds: number, tail: string) {
    super(`timed out after ${seconds} s waiting for ${what}; the console's last lines:\n${tail}`);
    this.name = "TimeoutError";
  }
}

// Control characters the shell prints but the echoed command line does not contain (it holds
// the printf escape text instead), so the markers cannot match the echo.
const SOH = "\u0001";
const STX = "\u0002";

export class GuestConsole {
  #buffer = "";
  /** Everything the console printed, capped to the last megabyte. */
  #log = "";
  readonly #port: SerialPort;
  #waiters = new Set<() => void>();
  #sequence = 0;

  constructor(port: SerialPort) {
    this.#port = port;
    port.onSerial((text) => {
      this.#buffer += text;
      this.#log += text;
      if (this.#log.length > 2_000_000) this.#log = this.#log.slice(-1_000_000);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** All console output so far (or its last megabyte). */
  get log(): string {
    return this.#log;
  }

  send(text: string): void {
    this.#port.sendSerial(text);
  }

  /**
   * Resolves once `pattern` appears in the output received since the last match, with the
   * match and the text before it (both consumed), or rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<{ match: RegExpExecArray; before: string }> {
    const re = typeof pattern === "string" ? new RegExp(escapeRegExp(pattern)) : pattern;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = re.exec(this.#buffer);
        if (!match) return false;
        const before = this.#buffer.slice(0, match.index);
        this.#buffer = this.#buffer.slice(match.index + match[0].length);
        finish();
        resolve({ match, before });
        return true;
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        finish();
        reject(new TimeoutError(String(pattern), timeoutMs / 1000, this.tail(8)));
      }, timeoutMs);
      if (!check()) this.#waiters.add(wake);
    });
  }

  /** Runs `command` in the guest's shell; resolves with its output (\n line ends) and exit status. */
  async exec(command: string, timeoutMs: number): Promise<ExecResult> {
    const n = ++this.#sequence;
    // The subshell keeps `exit` or `cd` in the command from ending or moving the login shell;
    // stdin from /dev/null so a command that reads input cannot swallow what we type next.
    this.#buffer = "";
    this.send(`printf '\\001B%d\\002\\n' ${n}; (${command}) </dev/null; printf '\\001E%d %d\\002\\n' ${n} $?\n`);
    await this.waitFor(`${SOH}B${n}${STX}\r\n`, timeoutMs);
    const { match, before } = await this.waitFor(new RegExp(`${SOH}E${n} (\\d+)${STX}\r\n`), timeoutMs);
    return { output: before.replace(/\r\n/g, "\n"), status: Number(match[1]) };
  }

  /** The last `lines` lines of output, for error messages. */
  tail(lines: number): string {
    return this.#log.split(/\r?\n/).slice(-lines).join("\n");
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
