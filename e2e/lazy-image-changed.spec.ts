// A lazily read disk whose image is replaced on the server while the guest runs: the page must
// not hand the guest bytes of the new image under the old one's. The server here honours
// If-Range as a static host does: a range request naming the old ETag gets the whole new file.
import { expect, test } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

test("a lazily read image that changes on the server fails reads with I/O errors, and the page says why", async ({ page }) => {
  let changed = false;
  const ifRanges: string[] = [];
  await page.route("**/guest/disk.img", async (route) => {
    const ifRange = route.request().headers()["if-range"];
    if (ifRange) ifRanges.push(ifRange);
    if (!changed) return route.continue();
    return route.fulfill({ status: 200, headers: { etag: '"a-new-image"', "content-type": "application/octet-stream" }, body: Buffer.alloc(4096, 0x55) });
  });
  await page.goto("./?lazy=1");
  await waitForPrompt(page);
  changed = true;
  // 5 MiB in: a part of the disk the boot did not read.
  await run(page, "dd if=/dev/vda of=/dev/null bs=256k skip=20 count=4 2>&1; echo dd-exit=$?", /^dd-exit=1$/, 60_000);
  const notice = page.getByTestId("notice");
  await expect(notice).toContainText(/The disk image \(guest\/disk.img\) changed on the server.*rather than mix two images/, { timeout: 10_000 });
  expect(await page.evaluate(() => window.v86msi!.vms[0]!.disk!.lazy!.counters.imageChanged)).toBe(1);
  // The old image's validator went out with the reads after the first.
  expect(ifRanges.length).toBeGreaterThan(0);
  await shot(page, "lazy-image-changed");
});
