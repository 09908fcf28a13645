// What one running machine of the page needs watched, for its session: the console (the first
// shell prompt, a panic or power-off), the emulator stopping by itself, the interrupt mode the
// drivers take (a few seconds into the boot), and a lazily fetched disk image failing. Every
// watch ends with `signal` (the machine going). No DOM.

import type { HttpRangeBackend } from "../browser/http-range-backend.ts";
import { deviceIrqMode, summariseIrqModes } from "../machine/irq-mode.ts";
import type { MsiMode } from "../firmware/guest-cmdline.ts";
import type { Machine } from "../machine/machine.ts";
import { HaltWatch, type Halt } from "./halt-watch.ts";

/** The guest's shell prompt: the boot is over once it shows. */
const PROMPT = "~ # ";

export interface MachineWatch {
  /** The interrupts the machine was built to ask for. */
  readonly asked: MsiMode;
  /** The disk's image when it is fetched lazily. */
  readonly lazy?: HttpRangeBackend;
  readonly signal: AbortSignal;
  serial(chunk: string): void;
  /** The first shell prompt. */
  prompt(): void;
  /** The guest panicked or powered off. */
  halted(halt: Halt): void;
  /** v86 stopped (whether the session asked it to is the session's to know). */
  emulatorStopped(): void;
  /** The drivers' interrupt mode, once one has a driver; called every half second. */
  mode(text: string, mode: string): void;
  /** Something the user should know about the disk. */
  notice(text: string): void;
}

export function watchMachine(m: Machine, w: MachineWatch): void {
  let seen = "";
  let sawPrompt = false;
  const halts = new HaltWatch();
  m.onSerial((chunk) => {
    w.serial(chunk);
    if (!sawPrompt) {
      seen = (seen + chunk).slice(-64);
      if (seen.includes(PROMPT)) {
        sawPrompt = true;
        w.prompt();
      }
    }
    const halt = halts.feed(chunk);
    if (halt) w.halted(halt);
  });
  m.emulator.add_listener("emulator-stopped", () => w.emulatorStopped());

  const showMode = (): void => {
    const { text, mode } = summariseIrqModes(m.devices.map((d) => ({ name: d.device.name, mode: deviceIrqMode(d) })), w.asked);
    if (mode !== "none") w.mode(text, mode);
  };
  every(500, showMode, w.signal);
  if (w.lazy) watchLazyImage(w.lazy, w);
}

function every(ms: number, run: () => void, signal: AbortSignal): void {
  const timer = setInterval(run, ms);
  signal.addEventListener("abort", () => clearInterval(timer));
}

/** A lazily fetched image fails reads when its server stalls or the image changes: the guest
 *  only sees I/O errors, so the user is told why. */
function watchLazyImage(lazy: HttpRangeBackend, w: MachineWatch): void {
  let timeouts = lazy.counters.timeouts;
  let told = false;
  every(
    1000,
    () => {
      if (lazy.error !== null && !told) {
        told = true;
        w.notice(
          `The disk image (${lazy.url}) changed on the server while this VM was reading it, so its reads now fail ` +
            "(I/O errors in the guest) rather than mix two images. Reload this tab to start from the new image.",
        );
      } else if (lazy.counters.timeouts > timeouts && !told) {
        timeouts = lazy.counters.timeouts;
        w.notice(`The server of ${lazy.url} did not answer in time; the guest got an I/O error for that read (${timeouts} so far).`);
      }
    },
    w.signal,
  );
}
