import { buildSite, launchChromium, pageShell, serveSite, waitForPagePrompt } from "../lib/page.ts";
buildSite();
const site = await serveSite(4391);
const browser = await launchChromium();
try {
  for (let run = 0; run < 3; run++) {
    for (const cy of run % 2 ? ["1", "0"] : ["0", "1"]) {
      const page = await browser.newPage();
      const t0 = Date.now();
      await page.goto(`${site.url}?net=none&disk=none&channelyield=${cy}`);
      await waitForPagePrompt(page, 60_000);
      const boot = Date.now() - t0;
      const sh = pageShell(page);
      await page.evaluate(() => {
        const loop = (window as any).v86msi.vms[0].machine.emulator.v86;
        const st = { ticks: 0, busy: 0, gap: 0, last: 0 };
        (window as any).__st = st;
        const orig = loop.do_tick.bind(loop);
        loop.do_tick = () => {
          const a = performance.now();
          if (st.last) st.gap += a - st.last;
          orig();
          const b = performance.now();
          st.busy += b - a;
          st.ticks++;
          st.last = b;
        };
      });
      const t1 = Date.now();
      const r = await sh.exec("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done", 60_000);
      const loop = Date.now() - t1;
      const st = await page.evaluate(() => (window as any).__st);
      console.log(`  ticks ${st.ticks}, busy ${st.busy.toFixed(0)} ms (${(st.busy / st.ticks).toFixed(2)} ms/tick), gaps ${st.gap.toFixed(0)} ms (${(1000 * st.gap / st.ticks).toFixed(0)} us/tick)`);
      const ty = await page.evaluate(() => JSON.stringify((window as any).v86msi.vms[0].machine.tickYield));
      console.log(`channelyield=${cy} boot ${boot} ms, shell loop ${loop} ms ${r.output.trim()} ${ty}`);
      await page.close();
    }
  }
} finally {
  await browser.close();
  site.stop();
}
