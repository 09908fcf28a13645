// Reliability of the kept disk: the page is reloaded while the guest is in the middle of writing.
// What the guest had flushed (sync returned) before the reload must be there afterwards, and the
// filesystem, interrupted mid-write, must be one that e2fsck repairs (then finds clean).
import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";
import { shot } from "./screenshots.ts";
import { recordFigure } from "../tests/reliability/record.ts";

test("a reload in the middle of writes: flushed data survives, e2fsck repairs the rest", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("./?persist=1");
  await waitForPrompt(page);
  await expect(page.getByTestId("disk-unsaved")).toHaveText("0", { timeout: 15_000 });

  // 1 MiB of random data, flushed: when sync returns, the device has completed the FLUSH.
  const lines = await run(page, "dd if=/dev/urandom of=/mnt/flushed bs=64k count=16 2>/dev/null; sync; sha256sum /mnt/flushed", /^[0-9a-f]{64}\s+\/mnt\/flushed$/);
  const flushedSum = lines.find((l) => /^[0-9a-f]{64}\s/.test(l))!.split(/\s+/)[0]!;

  // Writes that never stop, then the reload in the middle of them (no waiting for any save).
  await run(page, "(while :; do dd if=/dev/urandom of=/mnt/churn bs=64k count=32 2>/dev/null; done) & echo started", /^started$/);
  await page.waitForTimeout(3_000);
  await page.reload();
  await waitForPrompt(page);

  // The filesystem was mounted by /init after an unclean stop: check it the way one should.
  await run(page, "umount /mnt && echo unmounted", /^unmounted$/);
  const repair = await run(page, "e2fsck -y -f /dev/vda >/tmp/fsck.log 2>&1; echo fsck-exit=$?", /^fsck-exit=\d+$/, 120_000);
  const code = Number(repair.find((l) => l.startsWith("fsck-exit="))!.split("=")[1]);
  // 0: clean, 1: errors corrected. 4 and above: errors left, or it could not run.
  expect(code).toBeLessThanOrEqual(1);
  await run(page, "e2fsck -n -f /dev/vda >/dev/null 2>&1; echo recheck-exit=$?", /^recheck-exit=0$/, 120_000);
  await run(page, "mount -t ext2 /dev/vda /mnt && echo mounted", /^mounted$/);
  await run(page, "sha256sum /mnt/flushed", new RegExp(`^${flushedSum}\\s+/mnt/flushed$`));
  recordFigure(
    "persist-reload",
    `the 1 MiB file flushed before the reload has its sha256; \`e2fsck -y\` exited ${code} (${code === 0 ? "clean" : "errors corrected"}), a second \`e2fsck -n\` is clean`,
  );
  await shot(page, "persist-after-reload-fsck");
});
