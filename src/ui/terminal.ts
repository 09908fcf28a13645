// The guest's serial console in xterm.js: output written as it arrives, keys and pastes sent
// to the guest, sized to its container; Shift+Tab leaves it.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";

export interface ConsoleTerminal {
  readonly term: Terminal;
  write(text: string): void;
  focus(): void;
  /** Clears the screen and scrollback, for a machine booting again in the same terminal. */
  reset(): void;
  dispose(): void;
}

export function createTerminal(container: HTMLElement, send: (text: string) => void): ConsoleTerminal {
  const term = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: "#101418", foreground: "#d8dee4" },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(container);
  // Tab belongs to the guest's shell (completion), so a keyboard user needs another way out:
  // Shift+Tab is left to the browser and moves the focus back to the VM's buttons.
  term.attachCustomKeyEventHandler((e) => !(e.key === "Tab" && e.shiftKey));
  const input = term.onData((data) => send(data));
  return {
    term,
    write: (text) => term.write(text),
    focus: () => term.focus(),
    reset: () => term.reset(),
    dispose: () => {
      observer.disconnect();
      input.dispose();
      term.dispose();
    },
  };
}
