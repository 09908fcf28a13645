// The guest's network in Chromium, on the default backend (v86's fetch adapter): eth0 gets its
// address by DHCP at boot, and an HTTP request from the guest becomes a fetch by the page, here
// of a file from the app's own origin, which arrives with the bytes the server has.
import { createHash } from "node:crypto";
import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";

test("the guest gets a DHCP lease at boot and fetches a file from the page's origin", async ({ page, request, baseURL }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await run(page, "ip -4 -o addr show dev eth0", /inet 192\.168\.86\.100\/24/);

  const path = "guest/manifest.json";
  const served = await request.get(path);
  expect(served.ok()).toBe(true);
  const expected = createHash("sha256").update(await served.body()).digest("hex");

  // The guest cannot name 127.0.0.1:PORT (that is its own loopback): it asks the adapter's router
  // and says which host it means in the Host header, which the adapter turns into the fetch's URL.
  const origin = new URL(baseURL!);
  const url = `http://192.168.86.1${origin.pathname}${path}`;
  const lines = await run(
    page,
    `wget -q -O - --header 'Host: ${origin.host}' ${url} | sha256sum`,
    /^[0-9a-f]{64}\s+-$/,
    60_000,
  );
  const got = lines.find((l) => /^[0-9a-f]{64}\s+-$/.test(l))!.split(/\s+/)[0];
  expect(got).toBe(expected);
  await page.screenshot({ path: "test-results/screenshots/net-fetch.png" });
});
