// examples/minimal, built as a user would from the packed library (example-project.ts), served
// by a static server with Range requests and opened in Chromium: the guest boots on a stock
// V86, its disk round-trips a file and keeps it across a reload (IndexedDB), the disk image is
// read in ranges rather than whole, the NIC fetches a file of the page's origin, and the devices
// signal MSIs.
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { buildExampleProject, type ExampleProject } from "./example-project.ts";
import { createStaticServer } from "./static-files.ts";

const DISK_MIB = 64;
const PROMPT = "~ # ";

/** What main.ts puts on window (examples/minimal/main.ts). */
interface ExampleHandle {
  serial: string;
  send(text: string): void;
  disk: { counters: { dirtyBlocks: number; saves: number; saveErrors: number }; flush(): unknown };
}
const handle = () => (window as unknown as { example: ExampleHandle }).example;

let project: ExampleProject;
let server: Server;
let origin: string;
const FETCHED = randomBytes(100_000);

test.beforeAll(async () => {
  test.setTimeout(120_000);
  project = buildExampleProject(DISK_MIB);
  writeFileSync(join(project.dist, "fetch-check.bin"), FETCHED);
  server = createStaticServer(project.dist, "/");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  project?.remove();
});

async function serialSince(page: Page, from: number): Promise<string> {
  return page.evaluate((f) => (window as unknown as { example?: ExampleHandle }).example?.serial.slice(f) ?? "", from);
}

async function waitForPrompt(page: Page): Promise<void> {
  await expect.poll(() => serialSince(page, 0), { timeout: 60_000, intervals: [250] }).toMatch(/guest ready[\s\S]*~ # /);
}

let commands = 0;

/**
 * Sends a command line through the handle and returns what the guest printed until it ended:
 * an end marker the shell computes, so the echo of the typed line does not match it.
 */
async function run(page: Page, command: string, timeout = 30_000): Promise<string> {
  const id = ++commands;
  const from = await page.evaluate(() => (window as unknown as { example: ExampleHandle }).example.serial.length);
  await page.evaluate((c) => (window as unknown as { example: ExampleHandle }).example.send(`${c}\n`), `${command}; echo end-$((${id}+0))`);
  const end = new RegExp(`^end-${id}\\r?$`, "m");
  await expect.poll(() => serialSince(page, from), { timeout, intervals: [200] }).toMatch(end);
  const out = await serialSince(page, from);
  return out.slice(0, end.exec(out)!.index);
}

/** What `pattern`'s first group captures in `text`. */
const captured = (text: string, pattern: RegExp): string | undefined => pattern.exec(text)?.[1];

test("the minimal example, built from the packed library: disk round trip kept across a reload, lazy image, fetch, MSI", async ({ page }) => {
  // Every request for the disk image, with the bytes its answer carried.
  const diskRequests: Array<{ range: string | undefined; status: number; bytes: number }> = [];
  page.on("requestfinished", (request) => {
    if (!request.url().endsWith("/guest/disk.img")) return;
    void request.response().then((response) => {
      const contentRange = /bytes (\d+)-(\d+)\//.exec(response?.headers()["content-range"] ?? "");
      const bytes = contentRange ? Number(contentRange[2]) - Number(contentRange[1]) + 1 : Number(response?.headers()["content-length"] ?? NaN);
      diskRequests.push({ range: request.headers()["range"], status: response?.status() ?? 0, bytes });
    });
  });
  const fetches: string[] = [];
  page.on("request", (request) => fetches.push(new URL(request.url()).pathname));

  await page.goto(`${origin}/`);
  await waitForPrompt(page);

  await test.step("the keyboard reaches the guest and its answer shows in the terminal", async () => {
    await page.keyboard.type("echo typed-$((6*7))");
    await page.keyboard.press("Enter");
    await expect(page.locator("#console")).toContainText("typed-42");
  });

  await test.step("the disk's and the NIC's queues signal MSIs", async () => {
    const out = await run(page, "grep -E 'virtio0-req.0|virtio1-input.0' /proc/interrupts");
    expect(Number(captured(out, /\s(\d+)\s+virtio-mmio-\S+\s+\S+\s+virtio0-req\.0/))).toBeGreaterThan(0);
    expect(Number(captured(out, /\s(\d+)\s+virtio-mmio-\S+\s+\S+\s+virtio1-input\.0/))).toBeGreaterThan(0);
  });

  // 128 KiB of random bytes (32 blocks of the file system), summed by the guest before they
  // reach the disk (from its page cache) and after the caches are dropped (from the device).
  const sum = /([0-9a-f]{64})\s+\/mnt\/example\.bin/g;
  let written = "";
  await test.step("a file written to the disk reads back the same after the caches are dropped", async () => {
    const out = await run(
      page,
      "dd if=/dev/urandom of=/mnt/example.bin bs=4096 count=32 2>/dev/null && sha256sum /mnt/example.bin && sync && echo 3 > /proc/sys/vm/drop_caches && sha256sum /mnt/example.bin",
    );
    const sums = [...out.matchAll(sum)].map((m) => m[1]);
    expect(sums).toHaveLength(2);
    written = sums[0]!;
    expect(sums[1]).toBe(written);
    // The example saves what the guest wrote every second: wait for a save to leave nothing
    // unsaved, then for any save still under way (flush() with nothing dirty only waits).
    const counters = () => page.evaluate(() => ({ ...(window as unknown as { example: ExampleHandle }).example.disk.counters }));
    await expect.poll(async () => ((c) => c.dirtyBlocks === 0 && c.saves > 0)(await counters()), { timeout: 10_000 }).toBe(true);
    await page.evaluate(async () => {
      await (window as unknown as { example: ExampleHandle }).example.disk.flush();
    });
    expect((await counters()).saveErrors).toBe(0);
  });

  await test.step("the disk image was read in ranges, not downloaded whole", async () => {
    expect(diskRequests.length).toBeGreaterThan(0);
    for (const r of diskRequests) {
      expect(r.range).toMatch(/^bytes=\d+-\d+$/);
      expect(r.status).toBe(206);
    }
    const fetched = diskRequests.reduce((sum, r) => sum + r.bytes, 0);
    test.info().annotations.push({ type: "disk image", description: `${diskRequests.length} range requests, ${fetched} of ${DISK_MIB * 1024 * 1024} bytes` });
    expect(fetched).toBeLessThan((DISK_MIB * 1024 * 1024) / 4);
  });

  await test.step("the guest fetches a file of the page's origin through v86's fetch adapter", async () => {
    // The guest asks the adapter's router and names the page's host in the Host header (it
    // cannot name 127.0.0.1: that is its own loopback); the page fetches it.
    const host = new URL(origin).host;
    const out = await run(page, `wget -q -O - --header 'Host: ${host}' http://192.168.86.1/fetch-check.bin | sha256sum`);
    expect(captured(out, /([0-9a-f]{64})\s+-/)).toBe(createHash("sha256").update(FETCHED).digest("hex"));
    expect(fetches).toContain("/fetch-check.bin");
  });

  await test.step("after a reload the file is still on the disk (the overlay in IndexedDB)", async () => {
    await page.reload();
    await waitForPrompt(page);
    const out = await run(page, "wc -c < /mnt/example.bin; sha256sum /mnt/example.bin");
    expect(out).toMatch(/^131072\r?$/m);
    expect([...out.matchAll(sum)].map((m) => m[1])).toEqual([written]);
  });
});
