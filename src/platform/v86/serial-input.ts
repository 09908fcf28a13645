// Keys from the page's terminal or the `guest` command to v86's first serial port, delivered so
// that the guest's shell cannot lose them, and none left behind when the machine is saved.
//
// Why keys were lost after a restore (docs/save-restore.md, "Typing at once after a restore"):
// v86 saves its UART's registers but not its receive queue (`input` in its uart.js), so bytes
// the guest had not read when the state was taken were gone, and a saved "data ready" bit with
// an empty queue reads as a NUL after the restore. `drain()` lets the guest take every pending
// byte before a save; `afterRestore()` clears a stale "data ready" of a state saved without it.
//
// A precaution besides, for a hazard suspected earlier and not reproduced here: busybox's line
// editor asks the terminal where the cursor is (`ESC [ 6 n`) after every prompt, and its key
// reader was thought to drop keys read together with the answer (`ESC [ row ; col R`). v86's
// UART queue is unbounded and Linux's 8250 driver reads it all in one interrupt, so an answer
// and keys typed just after it would reach the shell in one read(). So the answer travels
// alone: bytes before it are delivered first and the answer waits until the guest has taken
// them; after it, the next bytes wait until the guest has read the UART's queue empty and then
// gone idle (its CPU halted: every task, the shell included, has done what it could with the
// input) or run ANSWER_SETTLE_INSTRUCTIONS more instructions. The conditions are on the guest's
// progress, never on the host's clock, so a slow host changes only how soon, not whether.

import type { UninstallOutcome, V86Patch } from "./patch.ts";

/** v86's UART as this touches it (uart.js: `input` is a plain array of byte values). */
export interface V86Uart {
  input: number[];
  lsr: number;
  data_received(byte: number): void;
}

/** What the input needs from the CPU: whether it is halted, and its instruction count. */
export interface SerialCpu {
  halted(): boolean;
  instructions(): number;
}

/** LSR bit 0: a received byte is waiting (v86's UART_LSR_DATA_READY). */
const LSR_DATA_READY = 0x01;
/** How far the guest may run, busy, after taking an answer before input goes on regardless. */
export const ANSWER_SETTLE_INSTRUCTIONS = 20_000_000;
/** A terminal's cursor-position report: ESC [ row ; col R. */
const CURSOR_REPORT = /\x1b\[\d+;\d+R/;

export interface SerialInputCounters {
  /** Bytes handed to v86's UART. */
  delivered: number;
  /** Cursor-position answers sent on their own. */
  answers: number;
  /** Times input waited for the guest to take an answer. */
  held: number;
  /** Stale "data ready" bits cleared after a restore. */
  staleDataReady: number;
}

export class SerialInput implements V86Patch {
  readonly name = "serial-input";
  readonly #uart: V86Uart;
  readonly #cpu: SerialCpu;
  /** Units waiting: runs of keys, or one answer. */
  readonly #queue: { text: string; answer: boolean }[] = [];
  /** Set while the guest has not yet settled after an answer: the count at which the UART was seen empty. */
  #afterAnswer: { emptyAt: number | null } | null = null;
  #installed = false;
  readonly counters: SerialInputCounters = { delivered: 0, answers: 0, held: 0, staleDataReady: 0 };

  constructor(uart: V86Uart, cpu: SerialCpu) {
    this.#uart = uart;
    this.#cpu = cpu;
  }

  get installed(): boolean {
    return this.#installed;
  }

  install(): void {
    this.#installed = true;
  }

  uninstall(): UninstallOutcome {
    this.#installed = false;
    return "nothing";
  }

  selfCheck(): string[] {
    const u = this.#uart as Partial<V86Uart> | undefined;
    const problems: string[] = [];
    if (!Array.isArray(u?.input)) problems.push("v86's uart0.input is not an array");
    if (typeof u?.lsr !== "number") problems.push("v86's uart0.lsr is not a number");
    if (typeof u?.data_received !== "function") problems.push("v86's uart0.data_received is not a function");
    return problems;
  }

  /** Bytes not yet in the guest's hands: ours and v86's UART queue. */
  get pending(): number {
    return this.#queue.reduce((n, u) => n + u.text.length, 0) + this.#uart.input.length;
  }

  /** Queues `text` (a terminal's answers included) and delivers what may go now. */
  send(text: string): void {
    let rest = text;
    while (rest) {
      const m = CURSOR_REPORT.exec(rest);
      if (!m) {
        this.#push(rest, false);
        break;
      }
      if (m.index > 0) this.#push(rest.slice(0, m.index), false);
      this.#push(m[0], true);
      rest = rest.slice(m.index + m[0].length);
    }
    this.pump();
  }

  #push(text: string, answer: boolean): void {
    const last = this.#queue.at(-1);
    if (last && !last.answer && !answer) last.text += text;
    else this.#queue.push({ text, answer });
  }

  /** Whether the guest has settled after the last answer (see the top of this file). */
  #settled(): boolean {
    const wait = this.#afterAnswer;
    if (!wait) return true;
    if (this.#uart.input.length > 0) return false;
    const now = this.#cpu.instructions();
    if (wait.emptyAt === null) {
      wait.emptyAt = now;
      return false;
    }
    if (((now - wait.emptyAt) >>> 0) > 0 && this.#cpu.halted()) return this.#settle();
    if (((now - wait.emptyAt) >>> 0) >= ANSWER_SETTLE_INSTRUCTIONS) return this.#settle();
    return false;
  }

  #settle(): true {
    this.#afterAnswer = null;
    return true;
  }

  /**
   * Delivers what may go now; call again later while `waiting` (Machine does, at every batch
   * boundary). Returns whether anything is still queued.
   */
  pump(): boolean {
    while (this.#queue.length > 0) {
      if (!this.#settled()) {
        this.counters.held++;
        return true;
      }
      const unit = this.#queue[0]!;
      // An answer goes only once the guest has taken everything before it.
      if (unit.answer && this.#uart.input.length > 0) return true;
      this.#queue.shift();
      for (const byte of new TextEncoder().encode(unit.text)) this.#uart.data_received(byte);
      this.counters.delivered += unit.text.length;
      if (unit.answer) {
        this.counters.answers++;
        this.#afterAnswer = { emptyAt: null };
      }
    }
    return false;
  }

  /** Whether input is queued here. */
  get waiting(): boolean {
    return this.#queue.length > 0;
  }

  /**
   * Resolves once the guest has every byte (ours delivered, the UART's queue read) or
   * `maxInstructions` have run; `step` waits a little (the guest runs meanwhile). Resolves with
   * the bytes still pending.
   */
  async drain(step: () => Promise<void>, maxInstructions = 200_000_000, maxSteps = 5_000): Promise<number> {
    const start = this.#cpu.instructions();
    for (let i = 0; i < maxSteps && this.pending > 0 && ((this.#cpu.instructions() - start) >>> 0) < maxInstructions; i++) {
      this.pump();
      await step();
    }
    return this.pending;
  }

  /** After v86 restored its state: a "data ready" with nothing queued would read as a NUL. */
  afterRestore(): void {
    if ((this.#uart.lsr & LSR_DATA_READY) !== 0 && this.#uart.input.length === 0) {
      this.#uart.lsr &= ~LSR_DATA_READY;
      this.counters.staleDataReady++;
    }
  }
}

/** The input for a v86 CPU: its first UART (`cpu.devices.uart0`) and its halt flag. */
export function serialInputOf(cpu: { devices: Record<string, unknown>; in_hlt: Uint8Array; instruction_counter: Uint32Array }): SerialInput {
  const uart = cpu.devices.uart0 as V86Uart | undefined;
  if (!uart) throw new Error("v86: cpu.devices.uart0 is missing (unsupported v86 version)");
  return new SerialInput(uart, {
    halted: () => cpu.in_hlt[0] === 1,
    instructions: () => cpu.instruction_counter[0]! >>> 0,
  });
}
