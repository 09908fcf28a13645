// Two tabs with persist=1 on one disk: the first keeps it (holds its Web Lock), the second says
// so and runs on a temporary copy without opening the IndexedDB store; once the first tab is
// closed, a reload of the second gets the kept disk.
import { expect, test, type Page } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";
import { recordFigure } from "../tests/reliability/record.ts";

const STORE = "v86-msi-disk:guest/disk.img";

/** Whether any block saved in the disk's IndexedDB store holds `marker`, and how many there are. */
function storeHolds(page: Page, marker: string): Promise<{ blocks: number; found: boolean }> {
  return page.evaluate(
    async ({ store, marker }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(store);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const values = await new Promise<unknown[]>((resolve, reject) => {
        const r = db.transaction("blocks").objectStore("blocks").getAll();
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      db.close();
      const latin1 = new TextDecoder("latin1");
      const found = values.some((v) => (v instanceof Uint8Array || v instanceof ArrayBuffer) && latin1.decode(v).includes(marker));
      return { blocks: values.length, found };
    },
    { store: STORE, marker },
  );
}

test("a disk kept by one tab is not written by a second; the second gets it once the first closes", async ({ page, context }) => {
  test.setTimeout(240_000);
  const first = page;
  await first.goto("./?persist=1");
  await waitForPrompt(first);
  await expect(first.getByTestId("notice")).toBeHidden();
  await run(first, "echo kept-by-the-first-tab > /mnt/first.txt; sync; echo written", /^written$/);
  // The check below can see a marker in the store: it sees this one, once the page's autosave
  // has run (the panel's "unsaved" count can still show the 0 from before the write reached
  // the disk, so it is read after, not waited on first).
  await expect.poll(async () => (await storeHolds(first, "kept-by-the-first-tab")).found, { timeout: 15_000 }).toBe(true);
  await expect(first.getByTestId("disk-unsaved")).toHaveText("0", { timeout: 15_000 });

  const second = await context.newPage();
  await second.goto("./?persist=1");
  await waitForPrompt(second);
  const notice = second.getByTestId("notice");
  await expect(notice).toBeVisible();
  await expect(notice).toContainText("This disk is open in another tab");
  await expect(notice).toContainText("close the other tab, then reload this one");
  await expect(second.getByTestId("devices")).toContainText("kept in memory only (another tab keeps this disk)");
  await expect(second.getByTestId("disk-unsaved")).toHaveCount(0);
  expect(await second.evaluate(() => window.v86msi!.vms[0]!.disk!.persisted)).toBe(false);
  await shot(second, "disk-open-in-another-tab");

  // The second tab's VM runs on the original image, and what it writes stays in the tab.
  await run(second, "cat /mnt/first.txt 2>&1 || echo no-such-file", /no-such-file|No such file/);
  const before = await storeHolds(first, "only-in-the-second-tab");
  await run(second, "echo only-in-the-second-tab > /mnt/second.txt; sync; echo written", /^written$/);
  await second.waitForTimeout(3000); // longer than the autosave interval (1 s)
  const after = await storeHolds(first, "only-in-the-second-tab");
  expect(after.found).toBe(false);
  expect(before.found).toBe(false);
  // The first tab still keeps its disk.
  await run(first, "echo still-the-first > /mnt/first2.txt; sync; echo written", /^written$/);
  await expect.poll(async () => (await storeHolds(first, "still-the-first")).found, { timeout: 15_000 }).toBe(true);

  // The first tab goes: the second says it may now keep the disk, and a reload does.
  await first.close();
  await expect(notice).toContainText("The other tab has let go of the disk", { timeout: 15_000 });
  await second.getByRole("button", { name: "Reload this tab" }).click();
  await waitForPrompt(second);
  await expect(second.getByTestId("notice")).toBeHidden();
  expect(await second.evaluate(() => window.v86msi!.vms[0]!.disk!.persisted)).toBe(true);
  await run(second, "cat /mnt/first.txt /mnt/first2.txt", /^still-the-first$/);
  await expect(second.getByTestId("disk-unsaved")).toHaveText("0", { timeout: 15_000 });
  recordFigure(
    "disk-lock",
    "the second tab shows the notice and its guest's writes never reach the store; after the first tab closes, a reload of the second keeps the disk and has the first tab's files",
  );
});
