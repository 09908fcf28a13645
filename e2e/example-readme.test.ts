// The README's core lines of examples/minimal are the example's own: each line of the README's
// block (but the elision comment) is a line of main.ts, so the README cannot drift from it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../package/build.ts";

describe("README's example lines", () => {
  it("are all in examples/minimal/main.ts", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Use the devices in your own v86 page"));
    const block = /Its core lines \(`examples\/minimal\/main\.ts`\):\n\n```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block, "the README's block after 'Its core lines'").toBeDefined();
    const main = new Set(readFileSync(join(ROOT, "examples", "minimal", "main.ts"), "utf8").split("\n"));
    const lines = block!.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("// ..."));
    expect(lines.length).toBeGreaterThan(15);
    expect(lines.filter((l) => !main.has(l))).toEqual([]);
  });
});
