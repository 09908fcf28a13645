// The host-side micro-benchmark (bench/hot-path.ts) in a child process of its own: it needs
// --expose-gc, and its timing should not share a heap with emulators.

import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Section } from "../lib/table.ts";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "hot-path.ts");

export function runHotPath(run: number, s: Section): string {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", SCRIPT, "--json"], { encoding: "utf8" });
  const results = JSON.parse(out) as { name: string; nsPerRequest: number; bytesPerRequest: number }[];
  for (const r of results) {
    s.add(r.name, "", 0, "ns", run, r.nsPerRequest);
    s.add(r.name, "", 0, "bytes", run, r.bytesPerRequest);
  }
  return results.map((r) => `${r.nsPerRequest.toFixed(0)} ns`).join(", ");
}
