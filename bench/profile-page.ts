// Where the page's main thread spends a boot and a shell loop: a Chromium CPU profile (sampled
// every 200 µs) of the production build, with self time summed by category (the guest's wasm,
// v86's yield, (idle), (program), our and xterm's functions). Used to find what made the page
// slower than Node on the same guest (README, "In the browser").
//   npx vite build && npx tsx bench/profile-page.ts ["&channelyield=0"]
import { launchChromium, pageShell, serveSite, waitForPagePrompt } from "./lib/page.ts";
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

const site = await serveSite(4392);
const browser = await launchChromium();
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
await cdp.send("Profiler.start");
const t0 = Date.now();
await page.goto(`${site.url}?net=none&disk=none${process.argv[2] ?? ""}`);
await waitForPagePrompt(page, 60_000);
const boot = Date.now() - t0;
const sh = pageShell(page);
const t1 = Date.now();
await sh.exec("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done", 60_000);
const loop = Date.now() - t1;
const { profile } = (await cdp.send("Profiler.stop")) as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
await browser.close();
site.stop();
// self time per node
const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
const dts: number[] = profile.timeDeltas;
profile.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dts[i + 1] ?? 0)));
const agg = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const cf = byId.get(id)!.callFrame;
  const url = cf.url || "";
  const cat = cf.functionName.startsWith("(")
    ? cf.functionName
    : url.startsWith("wasm://") || url.includes(".wasm")
      ? "wasm"
      : url.includes("index-")
        ? `js: ${cf.functionName || "(anonymous)"}`
        : `${url.split("/").pop()}: ${cf.functionName}`;
  agg.set(cat, (agg.get(cat) ?? 0) + us);
  total += us;
}
console.log(`boot ${boot} ms, loop ${loop} ms, profiled ${(total / 1000).toFixed(0)} ms`);
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(v / 1000).toFixed(0).padStart(7)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
