// The production page in Chromium, driven from the benchmark: build, serve from a sub-path,
// open with settings in the URL, and a Shell that runs commands on the page's guest through
// its Machine (window.v86msi.machine: sendSerial / onSerial), the same console the terminal
// shows, so the page renders the output as a user would see it.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "@playwright/test";
import type { Shell } from "./guest.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BASE_PATH = "/demo/";

/** The production bundle (vite build; the type check is CI's business, not the benchmark's). */
export function buildSite(): void {
  execFileSync("npx", ["vite", "build", "--logLevel", "error"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * Serves a copy of dist/ with `extra` files added (the benchmark's disk image: too large for
 * Playwright's request interception, which sends bodies over the DevTools protocol).
 */
export async function serveSite(port: number, extra: Record<string, Uint8Array> = {}): Promise<{ url: string; add(name: string, bytes: Uint8Array): void; stop(): void }> {
  const root = mkdtempSync(join(tmpdir(), "v86-msi-site-"));
  cpSync(join(ROOT, "dist"), root, { recursive: true });
  for (const [name, bytes] of Object.entries(extra)) writeFileSync(join(root, name), bytes);
  const child: ChildProcess = spawn("npx", ["tsx", "e2e/static-server.ts", String(port), BASE_PATH, root], {
    cwd: ROOT,
    stdio: "ignore",
    detached: true,
  });
  const url = `http://127.0.0.1:${port}${BASE_PATH}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // npx starts tsx which starts node: stop the whole group we started, by its id.
  return {
    url,
    /** Serves one more file beside the page (a state file the benchmark made). */
    add: (name, bytes) => writeFileSync(join(root, name), bytes),
    stop: () => {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, unthrottled; `extraArgs` adds switches (the engine comparison's --js-flags). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      // A hidden or occluded headless tab must not be throttled: it is the benchmark's only tab.
      "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
      ...extraArgs,
    ],
  });
}

/** Waits until the terminal shows the shell prompt; polls the DOM rows every 50 ms. */
export async function waitForPagePrompt(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    () => Array.from(document.querySelectorAll(".xterm-rows > div")).some((r) => (r.textContent ?? "").startsWith("~ #")),
    undefined,
    { timeout: timeoutMs, polling: 50 },
  );
}

/**
 * Waits until VM `vm` (0-based) answers at its shell prompt: presses Enter every second and
 * watches its console for "~ # " (the page may show the prompt before we start listening).
 */
export async function waitForVmPrompt(page: Page, vm: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction((i) => window.v86msi?.vms[i]?.machine !== undefined, vm, { timeout: timeoutMs, polling: 100 });
  await page.evaluate(
    ({ i, timeoutMs }) =>
      new Promise<void>((resolve, reject) => {
        const m = window.v86msi!.vms[i]!.machine!;
        let seen = "";
        const off = m.onSerial((text) => {
          seen = (seen + text).slice(-64);
          if (!seen.includes("~ # ")) return;
          clearInterval(tick);
          clearTimeout(timer);
          off();
          resolve();
        });
        const tick = setInterval(() => m.sendSerial("\n"), 1000);
        const timer = setTimeout(() => {
          clearInterval(tick);
          off();
          reject(new Error(`vm ${i}: no prompt`));
        }, timeoutMs);
        m.sendSerial("\n");
      }),
    { i: vm, timeoutMs },
  );
}

/** Runs shell commands on the page's VM `vm` (0-based), with GuestConsole's begin/end markers. */
export function pageShell(page: Page, vm = 0): Shell {
  let sequence = 0;
  return {
    exec: (command, timeoutMs) =>
      page.evaluate(
        ({ command, n, timeoutMs, vm }) =>
          new Promise<{ output: string; status: number }>((resolve, reject) => {
            const m = window.v86msi?.vms[vm]?.machine;
            if (!m) return reject(new Error("no machine on the page"));
            let buffer = "";
            const begin = `\u0001B${n}\u0002\r\n`;
            const end = new RegExp(`\u0001E${n} (\\d+)\u0002\r\n`);
            const timer = setTimeout(() => {
              off();
              reject(new Error(`timed out: ${command}\n${buffer.slice(-500)}`));
            }, timeoutMs);
            const off = m.onSerial((text) => {
              buffer += text;
              const at = buffer.indexOf(begin);
              if (at < 0) return;
              const rest = buffer.slice(at + begin.length);
              const e = end.exec(rest);
              if (!e) return;
              clearTimeout(timer);
              off();
              resolve({ output: rest.slice(0, e.index).replace(/\r\n/g, "\n"), status: Number(e[1]) });
            });
            m.sendSerial(`printf '\\001B%d\\002\\n' ${n}; (${command}) </dev/null; printf '\\001E%d %d\\002\\n' ${n} $?\n`);
          }),
        { command, n: ++sequence, timeoutMs, vm },
      ),
  };
}
