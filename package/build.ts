// Builds the installable library into package/out (not in git): ES modules and .d.ts by tsc
// (tsconfig.lib.json), a package.json with the three entries, this folder's README and the
// repository's LICENSE. The repository's own package.json stays private: it is the app's, and
// `npm ci`, Vite and the tests keep using it unchanged. Publish from package/out:
//   npx tsx package/build.ts && npm publish package/out
// Only the three entries in src/lib and what they import are emitted; the app, the tests and
// the Node command line stay out.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const OUT = join(ROOT, "package", "out");

const app = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
};

/** The package's name as users install it. */
export const PACKAGE_NAME = "virtio-mmio-msi-v86";

const entry = (name: string) => ({ types: `./dist/lib/${name}.d.ts`, import: `./dist/lib/${name}.js` });

function manifest(): object {
  return {
    name: PACKAGE_NAME,
    version: app.version,
    description: "virtio-mmio block and network devices for the v86 emulator, in TypeScript, with per-queue MSI",
    license: app.license,
    type: "module",
    exports: { ".": entry("core"), "./browser": entry("browser"), "./node": entry("node"), "./package.json": "./package.json" },
    types: "./dist/lib/core.d.ts",
    files: ["dist", "README.md", "LICENSE"],
    sideEffects: false,
    // attachVirtioMmio reaches into v86's internals, checked against this exact release.
    peerDependencies: { v86: app.dependencies.v86 },
    engines: { node: ">=20.19" },
    keywords: ["v86", "virtio", "virtio-mmio", "virtio-blk", "virtio-net", "msi", "emulator"],
  };
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * tsc rewrites the .ts specifiers of the emitted JavaScript to .js but leaves them as written in
 * the declarations; a consumer's compiler then looks for .ts files the package does not ship.
 */
function rewriteDeclarationSpecifiers(dir: string): void {
  for (const file of files(dir).filter((f) => f.endsWith(".d.ts"))) {
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, "$1$2.js$3");
    if (fixed !== text) writeFileSync(file, fixed);
  }
}

export function buildPackage(): string {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.lib.json")], {
    stdio: "inherit",
  });
  rewriteDeclarationSpecifiers(join(OUT, "dist"));
  writeFileSync(join(OUT, "package.json"), `${JSON.stringify(manifest(), null, 2)}\n`);
  copyFileSync(join(ROOT, "package", "README.md"), join(OUT, "README.md"));
  copyFileSync(join(ROOT, "LICENSE"), join(OUT, "LICENSE"));
  return OUT;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`built ${buildPackage()}`);
}
