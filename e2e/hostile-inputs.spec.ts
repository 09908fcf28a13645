// The page's doors as a user meets them (docs/save-restore.md, "Limits"; README's parameter
// table): a state file that is a gzip bomb is refused in the error panel with the tab's memory
// bounded; a kernel that is not a bzImage gets the error panel instead of hanging at "Booting
// Linux..."; a setting out of range is said above the VMs; a file on another origin is loaded
// only after the prompt naming it is answered yes; a state file's relay the URL did not name is
// not used, and the page says so.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, createGzip } from "node:zlib";
import { expect, test, type Browser } from "@playwright/test";
import { encodeSavedMachine } from "../src/machine/state-file.ts";
import { unpackSavedMachine } from "../src/machine/state-file-gzip.ts";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

const MiB = 2 ** 20;

/** A gzip of `n` zero bytes, made a MiB at a time. */
async function gzipOfZeros(n: number): Promise<Buffer> {
  const gz = createGzip({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  gz.on("data", (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve) => gz.on("end", resolve));
  const chunk = new Uint8Array(MiB);
  for (let left = n; left > 0; left -= MiB) if (!gz.write(chunk)) await new Promise((resolve) => gz.once("drain", resolve));
  gz.end();
  await ended;
  return Buffer.concat(parts);
}

/** The largest peak resident set (VmHWM, MiB) of the browser's renderer processes. */
async function rendererPeakRssMiB(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: { type: string; id: number }[] };
  await cdp.detach();
  let peak = 0;
  for (const p of processInfo.filter((p) => p.type === "renderer")) {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.id}/status`, "utf8"));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
    } catch {
      // a renderer that has gone
    }
  }
  return peak;
}

test("a 1 MiB gzip of zeros as state= is refused in the error panel, with the tab's memory bounded", async ({ page, browser }) => {
  const bomb = await gzipOfZeros(1024 * MiB);
  expect(bomb.length).toBeGreaterThan(1_000_000);
  await page.route("**/saved/bomb.state", (route) => route.fulfill({ body: bomb, contentType: "application/octet-stream" }));
  await page.goto("./?state=saved/bomb.state");
  await expect(page.getByTestId("error-title")).toHaveText("saved/bomb.state cannot be restored");
  await expect(page.getByTestId("error-text")).toHaveText("not a usable saved machine: wrong magic (not a state file)");
  const heap = await page.evaluate(() => {
    const m = (performance as unknown as { memory: { usedJSHeapSize: number; totalJSHeapSize: number } }).memory;
    return { usedJSHeapSize: m.usedJSHeapSize, totalJSHeapSize: m.totalJSHeapSize };
  });
  const rss = await rendererPeakRssMiB(browser);
  console.log(`state= bomb (${(bomb.length / MiB).toFixed(2)} MiB, 1024 MiB inflated): JS heap ${(heap.usedJSHeapSize / MiB).toFixed(0)} MiB used of ${(heap.totalJSHeapSize / MiB).toFixed(0)} MiB, renderer peak RSS ${rss.toFixed(0)} MiB`);
  expect(heap.totalJSHeapSize).toBeLessThan(128 * MiB);
  // The renderer's whole peak (the images, v86's compiled wasm, the page) stays far below what
  // the file inflates to (1024 MiB; reading it whole took more than twice that).
  expect(rss).toBeGreaterThan(0);
  expect(rss).toBeLessThan(600);
  await shot(page, "state-bomb-refused");
});

test("a kernel that is not a bzImage gets the error panel, saying why", async ({ page }) => {
  await page.goto("./?kernel=index.html");
  await expect(page.getByTestId("error-title")).toHaveText("The kernel cannot be booted");
  await expect(page.getByTestId("error-text")).toHaveText('index.html is not a Linux kernel (bzImage) v86 can load: no "HdrS" setup header at 0x202 (is it an HTML page, an ELF vmlinux or a compressed file?).');
  await expect(page.getByTestId("error-help")).toContainText("without the kernel parameter");
});

test("a setting out of range is said above the VMs, with what runs instead", async ({ page }) => {
  await page.goto("./?mem=999999&disk=none&net=none");
  await expect(page.getByTestId("page-warnings")).toBeVisible();
  await expect(page.getByTestId("page-warnings")).toHaveText(
    "mem=999999 ignored: 999999 MiB is outside the supported memory range of 80 to 2047 MiB (v86 does not build 2048 MiB or more as asked); the VM runs with 128 MiB",
  );
  await waitForPrompt(page);
  await expect(page.getByTestId("memory")).toContainText("128");
});

test("a file on another origin loads only after the prompt names it and the user agrees", async ({ page }) => {
  const kernel = readFileSync("public/guest/bzImage");
  let fetched = 0;
  await page.route("http://files.other.example/**", (route) => {
    fetched++;
    return route.fulfill({ body: kernel, contentType: "application/octet-stream", headers: { "access-control-allow-origin": "*" } });
  });
  await page.goto("./?kernel=http://files.other.example/bzImage&disk=none&net=none");
  const prompt = page.getByTestId("origin-prompt");
  await expect(prompt).toBeVisible();
  await expect(prompt.getByRole("listitem")).toHaveText(["kernel: http://files.other.example/bzImage from http://files.other.example"]);
  await shot(page, "origin-prompt");
  await prompt.getByRole("button", { name: "Do not load them" }).click();
  await expect(page.getByTestId("error-title")).toHaveText("Files from other sites were not loaded");
  await expect(page.getByTestId("error-text")).toHaveText("kernel=http://files.other.example/bzImage (http://files.other.example)");
  expect(fetched).toBe(0);

  await page.reload();
  await page.getByTestId("origin-prompt").getByRole("button", { name: "Load these files" }).click();
  await waitForPrompt(page);
  expect(fetched).toBe(1);
  await run(page, "echo other-$((6*7))", /^other-42$/);
});

test("a state file's relay the URL did not name is not used, and the page says so", async ({ page }) => {
  test.setTimeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), "relay-state-"));
  try {
    const file = join(dir, "vm.state");
    const saved = spawnSync("npx", ["tsx", "src/node/cli.ts", "exec", "echo saved", "--save", file], { encoding: "utf8", timeout: 110_000 });
    expect(saved.status, saved.stderr).toBe(0);
    // The same machine (its NIC on v86's fetch adapter), its file now naming a relay instead.
    const m = await unpackSavedMachine(readFileSync(file));
    const relay = "wisps://relay.evil.example/";
    const edited = encodeSavedMachine({ ...m, boot: { ...m.boot, net: relay } });
    await page.route("**/saved/relay.state", (route) => route.fulfill({ body: Buffer.from(edited), contentType: "application/octet-stream" }));
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto("./?state=saved/relay.state");
    await waitForPrompt(page);
    await expect(page.getByTestId("state-message")).toContainText(
      `The state file was saved with the network relay ${relay}, which this page's URL does not name: the VM's network is fetch instead.`,
    );
    await run(page, "echo restored-$((6*7))", /^restored-42$/);
    expect(sockets.filter((u) => u.includes("relay.evil.example"))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
