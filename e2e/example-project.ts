// examples/minimal as a user builds it, outside this repository: the library built and packed
// by npm, the example's files copied into an empty folder, the tarball installed there with the
// example's own dependencies (v86, vite, typescript), the guest's files in its public/, then the
// example type-checked and built by its own tsc and vite.
//
// Offline: v86, vite and typescript are this repository's dependencies too, so `npm ci` here
// left their tarballs in npm's cache. npm cannot resolve a version range from the cache alone
// (it keeps the tarballs, not the registry's lists of versions), so the project gets a lockfile
// made of this repository's entries for those packages and everything they need; `npm ci
// --offline` then takes each tarball from the cache by its checksum.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OUT, PACKAGE_NAME, ROOT, buildPackage } from "../package/build.ts";

const EXAMPLE = join(ROOT, "examples", "minimal");
const EXAMPLE_FILES = ["index.html", "main.ts", "package.json", "tsconfig.json"];
/** What main.ts loads from guest/ (the disk is made here, larger than the committed one). */
const GUEST_FILES = ["bios.bin", "vgabios.bin", "bzImage", "initrd.img"];

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

/**
 * The entries of `packages` (a v3 lockfile's) for `names` and everything they depend on, at the
 * same paths, resolved as Node does: the nearest node_modules up the tree.
 */
export function lockClosure(packages: Record<string, LockEntry>, names: readonly string[]): Record<string, LockEntry> {
  const picked: Record<string, LockEntry> = {};
  const locate = (from: string, name: string): string => {
    for (let dir = from; ; ) {
      const path = `${dir ? `${dir}/` : ""}node_modules/${name}`;
      if (packages[path]) return path;
      if (!dir) throw new Error(`the repository's package-lock.json has no ${name} for ${from || "the root"}`);
      const up = dir.lastIndexOf("/node_modules/");
      dir = up < 0 ? "" : dir.slice(0, up);
    }
  };
  const add = (path: string): void => {
    if (picked[path]) return;
    // dev/optional/peer flags describe this repository's tree; npm works them out for the new one.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path]!;
    picked[path] = entry;
    const needed = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})];
    for (const peer of Object.keys(entry.peerDependencies ?? {})) if (!entry.peerDependenciesMeta?.[peer]?.optional) needed.push(peer);
    for (const name of needed) {
      // An optional dependency for another platform (fsevents) may be missing from the lock.
      const optional = name in (entry.optionalDependencies ?? {});
      try {
        add(locate(path, name));
      } catch (error) {
        if (!optional) throw error;
      }
    }
  };
  for (const name of names) add(locate("", name));
  return picked;
}

export interface ExampleProject {
  readonly dir: string;
  /** The built site (vite build's output). */
  readonly dist: string;
  remove(): void;
}

const run = (command: string, args: string[], cwd: string, hint = ""): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}${hint}:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
};

/**
 * Builds the example in a new temporary folder, with `diskMiB` of empty ext2 as its disk image
 * (guest/disk.img). Throws with the failing step's output.
 */
export function buildExampleProject(diskMiB: number): ExampleProject {
  const dir = mkdtempSync(join(tmpdir(), "v86-virtio-example-"));
  try {
    buildPackage();
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir], OUT)) as Array<{ filename: string }>;
    const tarball = packed[0]!.filename;

    for (const f of EXAMPLE_FILES) copyFileSync(join(EXAMPLE, f), join(dir, f));
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // The README has users run `npm install` beside the tarball: the name must be this version's.
    if (manifest.dependencies[PACKAGE_NAME] !== `file:${tarball}`) {
      throw new Error(`examples/minimal/package.json must depend on ${PACKAGE_NAME} as "file:${tarball}" (the tarball npm pack makes now)`);
    }

    const repoLock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
    const fromRegistry = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)].filter((n) => n !== PACKAGE_NAME);
    const ours = JSON.parse(readFileSync(join(OUT, "package.json"), "utf8")) as LockEntry & { license: string };
    const lock = {
      name: "example",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { dependencies: manifest.dependencies, devDependencies: manifest.devDependencies },
        ...lockClosure(repoLock.packages, fromRegistry),
        [`node_modules/${PACKAGE_NAME}`]: { version: ours.version, resolved: `file:${tarball}`, license: ours.license, peerDependencies: ours.peerDependencies },
      },
    };
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
    // --ignore-scripts: what these packages need is in their tarballs (rolldown's native build
    // is an optional dependency); nothing downloads at install time.
    const notCached = " (ENOTCACHED says npm's cache lacks a tarball: `npm ci` in the repository puts them there)";
    run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], dir, notCached);

    mkdirSync(join(dir, "public", "guest"), { recursive: true });
    for (const f of GUEST_FILES) copyFileSync(join(ROOT, "public", "guest", f), join(dir, "public", "guest", f));
    const disk = join(dir, "public", "guest", "disk.img");
    writeFileSync(disk, "");
    truncateSync(disk, diskMiB * 1024 * 1024);
    run("mke2fs", ["-q", "-F", "-t", "ext2", "-b", "4096", disk], dir);

    // The example's own compiler and bundler, as `npm run build` runs them.
    run(process.execPath, [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], dir);
    run(process.execPath, [join(dir, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], dir);
    return { dir, dist: join(dir, "dist"), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
