// Where the headless runner finds the committed guest and v86's wasm.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const GUEST_DIR = join(REPO_ROOT, "public/guest");

export const DEFAULT_GUEST = {
  kernel: join(GUEST_DIR, "bzImage"),
  initrd: join(GUEST_DIR, "initrd.img"),
  bios: join(GUEST_DIR, "bios.bin"),
  vgaBios: join(GUEST_DIR, "vgabios.bin"),
  disk: join(GUEST_DIR, "disk.img"),
} as const;

export function v86WasmPath(): string {
  const path = join(REPO_ROOT, "node_modules/v86/build/v86.wasm");
  if (!existsSync(path)) throw new Error(`v86.wasm not found at ${path}: run npm ci`);
  return path;
}
