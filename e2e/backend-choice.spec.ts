import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";

async function chooseNetwork(page: import("@playwright/test").Page, label: string, relay?: string): Promise<void> {
  await page.getByLabel("Network", { exact: true }).selectOption({ label });
  if (relay !== undefined) await page.getByLabel("WISP relay URL").fill(relay);
  await page.getByRole("button", { name: "Restart with this network" }).click();
}

test("Network none: no NIC in the guest, no net device in the panel, link control off", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await chooseNetwork(page, "none");
  await expect(page).toHaveURL(/net=none/);
  await waitForPrompt(page);
  await expect(page.getByLabel("Network", { exact: true })).toHaveValue("none");
  await expect(page.locator('[data-device="blk0"]')).toBeVisible();
  await expect(page.locator('[data-device="net0"]')).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Link down" })).toBeDisabled();
  await run(page, "echo nics: $(ls /sys/class/net)", /^nics: lo$/);
});

test("Network in-browser: each tab gets its own address, and two tabs ping each other", async ({ page, context }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await chooseNetwork(page, "in-browser (between tabs)");
  await expect(page).toHaveURL(/net=inbrowser/);
  await waitForPrompt(page);
  const address = async (p: typeof page) => /IP (192\.168\.88\.\d+)\/24/.exec((await p.getByTestId("ip").textContent()) ?? "")?.[1];
  const a = await address(page);
  expect(a).toBeTruthy();
  await run(page, "ip -4 addr show eth0", new RegExp(`inet ${a!.replace(/\./g, "\\.")}/24`));
  // A second tab on the same network: a random host part, drawn again on the rare clash.
  const other = await context.newPage();
  let b: string | undefined;
  do {
    await other.goto("./?net=inbrowser");
    await waitForPrompt(other);
    b = await address(other);
  } while (b === a);
  await run(other, "ip -4 addr show eth0", new RegExp(`inet ${b!.replace(/\./g, "\\.")}/24`));
  const lines = await run(page, `ping -c 2 -W 5 ${b}`, /packets transmitted/, 60_000);
  expect(lines.find((l) => /packets transmitted/.test(l))).toMatch(/2 packets received/);
});

test("Network WISP relay: the typed relay URL goes into the settings; a bad one is refused", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const outside: string[] = [];
  page.on("request", (r) => {
    const url = r.url().replace(/^blob:/, "");
    if (!url.startsWith(`${origin}/`)) outside.push(r.url());
  });
  await page.goto("./");
  await waitForPrompt(page);
  await page.getByLabel("Network", { exact: true }).selectOption({ label: "WISP relay…" });
  await expect(page.getByLabel("WISP relay URL")).toBeVisible();
  await page.getByLabel("WISP relay URL").fill("http://relay.example/");
  await page.getByRole("button", { name: "Restart with this network" }).click();
  await expect(page).not.toHaveURL(/net=/);
  expect(await page.getByLabel("WISP relay URL").evaluate((i: HTMLInputElement) => i.validationMessage)).toContain("wisp://");
  // A relay on this machine where nothing listens: the page boots, the NIC is there, and
  // nothing but the page's origin (and the relay) was contacted.
  await chooseNetwork(page, "WISP relay…", "wisp://127.0.0.1:9/");
  await expect(page).toHaveURL(/net=wisp%3A%2F%2F127\.0\.0\.1%3A9%2F/);
  await waitForPrompt(page);
  await expect(page.getByLabel("WISP relay URL")).toHaveValue("wisp://127.0.0.1:9/");
  await expect(page.locator('[data-device="net0"]')).toBeVisible();
  await run(page, "echo nics: $(ls /sys/class/net)", /^nics: .*eth0/);
  expect(outside).toEqual([]);
});
