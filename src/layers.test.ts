// The layers of src/, checked from the imports themselves so that a wrong dependency fails the
// unit tests instead of waiting for a reviewer:
//
//   virtio     the virtio core: depends on nothing else of ours and on no package
//   devices    virtio-blk, virtio-net and their portable backends: on virtio only
//   firmware   what the guest is told at boot, as pure functions of a placement: the kernel
//              command line, the ACPI tables (AML, SSDT) and the initrd (cpio) that carries
//              them. On nothing of ours but virtio's constants (the window size is virtio-mmio's,
//              written once in src/virtio/constants.ts) and on no package: no v86, no DOM, no Node
//   platform   the v86 glue (attachVirtioMmio, MMIO bus, IRQ lines, MSI routing, v86's patches
//              in src/platform/v86): on virtio, firmware and the v86 package; it attaches any
//              VirtioDevice but never constructs a particular one
//   browser    backends that need the web platform (IndexedDB, fetch, Web Locks): on virtio and devices
//   testing    the one place for helpers that tests share (the test driver, the echo device,
//              the PRNG, blk request and net frame builders, test backends): on virtio and
//              devices. Only tests import it (and fuzz/, bench/, tests/), and a test may use a
//              helper only when all the helper reaches is within the test's own layer: a
//              virtio test cannot reach devices through a helper either.
//
// Above them: machine/ (our app's Machine over attachVirtioMmio and the one V86 builder, which
// device with which backend, the serial console, state files, what a machine's interrupts are
// doing: no DOM, no Node), compare/ (the interrupt-mode comparison, which runs in
// the page and under Node), session/ (a page VM's life without its view: boot, restart, disk,
// network, saved states, counters; no DOM: it names no document, window or element, and never
// imports ui/), and the two front ends ui/ (the page) and node/ (the `guest` command), which
// never import each other. fuzz/ (tests only) may use anything; lib/ holds the
// package's entries (package/build.ts), re-exports of the core and the backends. The core (virtio, devices, firmware, platform) is also compiled without the DOM library
// (tsconfig.core.json); this test adds what the compiler cannot see: which folder imports which.
// Tests beside the code may also use Vitest, Node's built-ins and fake-indexeddb, since they run
// under Node, but no folder of ours beyond what their layer may use (and src/testing, as above).
// A helper only tests use, once tests of a second folder use it, belongs in src/testing.
// Within platform, only src/platform/v86 touches v86's internals (its CPU's and main loop's
// members, its wasm memory, its MMIO registration): every patch of v86 is one object there.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

interface Layer {
  /** Folders under src/ this layer's files may import from (its own included). */
  readonly folders: readonly string[];
  /** Packages its non-test files may import (exact names). */
  readonly packages: readonly string[];
  /** Single files of other folders it may import besides `folders` (repository paths). */
  readonly files?: readonly string[];
}

const LAYERS: Readonly<Record<string, Layer>> = {
  virtio: { folders: ["virtio"], packages: [] },
  devices: { folders: ["virtio", "devices"], packages: [] },
  // Pure writers: of virtio only the constants (MMIO_WINDOW_SIZE, the one window size).
  firmware: { folders: ["firmware"], files: ["src/virtio/constants.ts"], packages: [] },
  platform: { folders: ["virtio", "firmware", "platform"], packages: ["v86"] },
  browser: { folders: ["virtio", "devices", "browser"], packages: [] },
  // Above the core: what assembles machines and reads their state (no DOM, no Node), then the
  // comparison, then the two front ends, which never import each other.
  machine: { folders: ["virtio", "devices", "firmware", "platform", "browser", "machine"], packages: [] },
  compare: { folders: ["virtio", "devices", "firmware", "platform", "browser", "machine", "compare"], packages: [] },
  // The page's VMs as objects (src/session/vm-session.ts): what the view renders and forwards to.
  session: { folders: ["virtio", "devices", "firmware", "platform", "browser", "machine", "session"], packages: [] },
  ui: { folders: ["virtio", "devices", "firmware", "platform", "browser", "machine", "compare", "session", "ui"], packages: ["@xterm/xterm", "@xterm/xterm/css/xterm.css", "@xterm/addon-fit", "v86/build/v86.wasm?url"] },
  node: {
    folders: ["virtio", "devices", "firmware", "platform", "machine", "node"],
    packages: ["node:child_process", "node:fs", "node:os", "node:path", "node:url", "node:util"],
  },
  // The package's entries (package/build.ts): what they re-export. lib/core.ts is also in
  // tsconfig.core.json, so the main entry cannot reach the DOM or Node (browser, node) either.
  lib: { folders: ["virtio", "devices", "firmware", "platform", "browser", "node", "lib"], packages: [] },
  testing: { folders: ["virtio", "devices", "testing"], packages: [] },
};

/** The shared test helpers' folder: tests of any layer may import from it (see reach below). */
const TESTING = "testing";

/**
 * What the tests of a layer may import besides their layer's own allowance: they run under Node
 * (fake-indexeddb stands in for the browser's IndexedDB there).
 */
const isTestPackage = (specifier: string) =>
  specifier === "vitest" || specifier === "fake-indexeddb" || specifier.startsWith("node:");

const isTestFile = (file: string) => file.endsWith(".test.ts");

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly why: string;
}

/**
 * Checks one file's imports. `file` is relative to the repository ("src/platform/x.ts");
 * `imports` are the specifiers as written, with their 1-based lines. `reach` gives, for a file
 * in src/testing, the folders of src/ it reaches through its imports (reachOf).
 */
function layerViolations(
  file: string,
  imports: readonly { specifier: string; line: number }[],
  reach: (testingFile: string) => readonly string[] = () => [],
): Violation[] {
  const folder = file.split("/")[1] ?? "";
  const layer = file.startsWith("src/") ? LAYERS[folder] : undefined;
  if (layer === undefined) return [];
  const out: Violation[] = [];
  for (const { specifier, line } of imports) {
    if (specifier.startsWith(".")) {
      const target = normalize(join(dirname(file), specifier));
      const parts = target.split("/");
      const targetFolder = parts[0] === "src" && parts.length > 2 ? parts[1]! : null;
      if (targetFolder === TESTING && folder !== TESTING) {
        if (!isTestFile(file)) {
          out.push({ file, line, specifier, why: "only tests import src/testing" });
          continue;
        }
        const beyond = reach(target).filter((f) => !layer.folders.includes(f));
        if (beyond.length > 0) {
          out.push({ file, line, specifier, why: `src/${folder} may import only from ${layer.folders.map((f) => `src/${f}`).join(", ")}; this helper reaches ${beyond.map((f) => `src/${f}`).join(", ")}` });
        }
        continue;
      }
      if (layer.files?.includes(target)) continue;
      if (targetFolder === null || !layer.folders.includes(targetFolder)) {
        const where = targetFolder === null ? target : `src/${targetFolder}`;
        out.push({ file, line, specifier, why: `src/${folder} may import only from ${layer.folders.map((f) => `src/${f}`).join(", ")}; this reaches ${where}` });
      }
    } else if (!layer.packages.includes(specifier) && !(isTestFile(file) && isTestPackage(specifier))) {
      const allowed = layer.packages.length === 0 ? "no package" : `only the packages ${layer.packages.join(", ")}`;
      out.push({ file, line, specifier, why: `src/${folder} may import ${allowed}${isTestFile(file) ? " (its tests also vitest, fake-indexeddb and node:*)" : ""}` });
    }
  }
  return out;
}

/**
 * Folders whose code must not reach the page's DOM although the DOM library is in scope for
 * them (they use browser APIs such as IndexedDB through src/browser): the globals that are the
 * page itself, and the element types.
 */
const DOM_FREE_FOLDERS: readonly string[] = ["session"];
const DOM_GLOBALS: ReadonlySet<string> = new Set(["document", "window", "location", "navigator", "confirm", "alert", "addEventListener", "removeEventListener", "matchMedia", "localStorage", "sessionStorage", "requestAnimationFrame", "Element", "Node"]);
const isDomName = (name: string) => DOM_GLOBALS.has(name) || /^HTML\w*Element$/.test(name);

/**
 * The DOM names a file's code uses as free identifiers (a global or a type), with their lines:
 * `x.document` and `{ window: 2 }` do not count, `document.title` and `el: HTMLElement` do. A
 * name only seen, not resolved: a local that shadows one of these is flagged where it is used
 * (a DOM-free file has no reason to borrow those names).
 */
function domNamesIn(file: string, text: string): { name: string; line: number }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isDomName(node.text)) {
      const p = node.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(p) && p.name === node) ||
        (ts.isQualifiedName(p) && p.right === node) ||
        ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p)) && p.name === node);
      const isOwnDeclaration = (ts.isParameter(p) || ts.isVariableDeclaration(p) || ts.isBindingElement(p)) && p.name === node;
      if (!isMemberName && !isOwnDeclaration) out.push({ name: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/**
 * v86's internals by name: the members only src/platform/v86 may use. Members that are public
 * API of the V86 object (add_listener, serial0_send, save_state, ...) are not here.
 */
const V86_INTERNALS: ReadonlySet<string> = new Set([
  "wasm_memory", "mmap_register", "run_hardware_timers", "instruction_counter", "reboot_internal", "reset_cpu",
  "yield_callback", "unregister_yield", "register_yield", "get_apic_addr", "get_state_apic", "set_state_apic",
  "handle_irqs", "jit_dirty_cache", "mem8", "mem32s",
]);
const V86_FOLDER = "src/platform/v86/";

/**
 * Where a file names one of v86's internals as a member (`cpu.wasm_memory`, `{ mmap_register }`,
 * a type's property) or reaches v86's inner object (`emulator.v86`). Names in comments and
 * strings do not count.
 */
function v86InternalsIn(file: string, text: string): { name: string; line: number }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const p = node.parent;
      const isMember = ts.isPropertyAccessExpression(p) && p.name === node;
      const isInner = isMember && node.text === "v86";
      const isDeclaredMember = (ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodSignature(p) || ts.isShorthandPropertyAssignment(p) || ts.isBindingElement(p)) && (p.name === node || (ts.isBindingElement(p) && p.propertyName === node));
      if (isInner || (V86_INTERNALS.has(node.text) && (isMember || isDeclaredMember || ts.isLiteralTypeNode(p)))) {
        out.push({ name: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every import and re-export specifier of a file, static or dynamic, type-only included. */
function importsOf(path: string): { specifier: string; line: number }[] {
  const text = readFileSync(path, "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest);
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ({
    specifier: ref.fileName,
    line: source.getLineAndCharacterOfPosition(ref.pos).line + 1,
  }));
}

/** The folder under src/ of a repository path, or null outside src/. */
function srcFolder(path: string): string | null {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1]! : null;
}

/**
 * The folders of src/ (src/testing left out) that a file in src/testing reaches, following its
 * imports through the other helpers there. `importsOf` gives a repository path's specifiers.
 */
function reachOf(file: string, importsOf: (file: string) => readonly { specifier: string }[]): string[] {
  const folders = new Set<string>();
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const { specifier } of importsOf(f)) {
      if (!specifier.startsWith(".")) continue;
      const target = normalize(join(dirname(f), specifier));
      const to = srcFolder(target);
      if (to === TESTING) visit(target);
      else if (to !== null) folders.add(to);
    }
  };
  visit(file);
  return [...folders].sort();
}

/** Files that only tests use: *.test.ts and everything under src/testing, src/fuzz, tests/ and bench/. */
const isTestSide = (file: string) =>
  isTestFile(file) || /^(src\/(testing|fuzz)|tests|bench)\//.test(file);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("layers", () => {
  const files = sourceFiles(join(ROOT, "src")).map((path) => relative(ROOT, path));

  const imports = new Map<string, { specifier: string; line: number }[]>();
  const importsOfFile = (file: string) => {
    let found = imports.get(file);
    if (found === undefined) imports.set(file, (found = importsOf(join(ROOT, file))));
    return found;
  };
  const reach = (testingFile: string) => reachOf(testingFile, importsOfFile);

  it("no file in src/ imports across a layer boundary", () => {
    // A floor, so the check cannot pass by finding nothing to check.
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => layerViolations(file, importsOfFile(file), reach));
    const report = found.map((v) => `${v.file}:${v.line} imports "${v.specifier}": ${v.why}`);
    expect(report).toEqual([]);
  });

  it("the DOM-free folders name no part of the page (document, window, elements)", () => {
    const checked = files.filter((f) => DOM_FREE_FOLDERS.includes(f.split("/")[1] ?? "") && !isTestFile(f));
    expect(checked.length).toBeGreaterThan(3);
    const found = checked.flatMap((file) => domNamesIn(file, readFileSync(join(ROOT, file), "utf8")).map((n) => `${file}:${n.line} uses ${n.name}`));
    expect(found).toEqual([]);
  });

  it("only src/platform/v86 touches v86's internals (the other files go through its patch objects)", () => {
    const checked = files.filter((f) => !f.startsWith(V86_FOLDER) && f !== "src/layers.test.ts");
    const found = checked.flatMap((file) => v86InternalsIn(file, readFileSync(join(ROOT, file), "utf8")).map((n) => `${file}:${n.line} uses ${n.name}`));
    expect(found).toEqual([]);
    // The folder exists and holds the names, so the check cannot pass by finding nothing.
    const inside = files.filter((f) => f.startsWith(V86_FOLDER)).flatMap((f) => v86InternalsIn(f, readFileSync(join(ROOT, f), "utf8")).map((n) => n.name));
    for (const name of ["wasm_memory", "mmap_register", "run_hardware_timers", "instruction_counter", "v86"]) expect(inside).toContain(name);
  });

  it("the v86 check catches members and reaches, not comments or locals of the same name", () => {
    const names = (text: string) => v86InternalsIn("x.ts", text).map((n) => n.name);
    expect(names("const c = emulator.v86.cpu; c.wasm_memory.buffer;")).toEqual(["v86", "wasm_memory"]);
    expect(names("io.mmap_register(1, 2); const { instruction_counter } = cpu;")).toEqual(["mmap_register", "instruction_counter"]);
    expect(names("interface X { run_hardware_timers(): void } const o = { mem8: 1 };")).toEqual(["run_hardware_timers", "mem8"]);
    expect(names("// cpu.wasm_memory\nconst s = 'emulator.v86'; const v86 = 1; import { V86 } from 'v86';")).toEqual([]);
  });

  it("the DOM check catches the page's globals and element types, not members of the same name", () => {
    const names = (text: string) => domNamesIn("x.ts", text).map((n) => n.name);
    expect(names("document.title = 'x';")).toEqual(["document"]);
    expect(names("const w = window.v86msi;")).toEqual(["window"]);
    expect(names("function f(el: HTMLElement, b: HTMLButtonElement) {}")).toEqual(["HTMLElement", "HTMLButtonElement"]);
    expect(names("addEventListener('pagehide', f); if (confirm('?')) location.reload();")).toEqual(["addEventListener", "confirm", "location"]);
    expect(names("signal.addEventListener('abort', f); const o = { location: 1, window: 2 }; x.document; function g(location: string) { return location; }")).toEqual(["location"]);
  });

  it("test helpers that tests of several folders share live in src/testing, the only testing folder", () => {
    const elsewhere = files.filter((f) => f.split("/").slice(0, -1).includes(TESTING) && srcFolder(f) !== TESTING);
    expect(elsewhere, "a testing/ folder outside src/testing").toEqual([]);
    expect(files.filter((f) => srcFolder(f) === TESTING && !isTestFile(f)).length).toBeGreaterThan(5);
    // Who imports each file of src/, from the tests' side and from the product's.
    const sideFiles = [...files, ...["tests", "bench"].flatMap((d) => sourceFiles(join(ROOT, d)).map((p) => relative(ROOT, p)))];
    const importers = new Map<string, { test: Set<string>; product: boolean }>();
    for (const from of sideFiles) {
      for (const { specifier } of importsOfFile(from)) {
        if (!specifier.startsWith(".")) continue;
        const target = normalize(join(dirname(from), specifier));
        if (!target.startsWith("src/")) continue;
        const entry = importers.get(target) ?? { test: new Set<string>(), product: false };
        if (isTestSide(from)) entry.test.add(dirname(from));
        else entry.product = true;
        importers.set(target, entry);
      }
    }
    const strays = [...importers]
      .filter(([file, e]) => !isTestSide(file) && !e.product && [...e.test].some((d) => d !== dirname(file)))
      .map(([file, e]) => `${file} is a test helper used from ${[...e.test].sort().join(", ")}: move it to src/testing`);
    expect(strays).toEqual([]);
  });

  it("the check itself catches each kind of crossing", () => {
    const at = (specifier: string) => [{ specifier, line: 1 }];
    // virtio -> devices (the old home of the fuzzer did this).
    expect(layerViolations("src/virtio/fuzz/rig.ts", at("../../devices/blk/device.ts"))).toHaveLength(1);
    // virtio -> outside src.
    expect(layerViolations("src/virtio/x.test.ts", at("../../tests/reliability/record.ts"))).toHaveLength(1);
    // platform -> devices (composition belongs in src/machine), and -> ui, node, browser.
    for (const to of ["devices/net/device.ts", "ui/main.ts", "node/paths.ts", "browser/idb-store.ts"]) {
      expect(layerViolations("src/platform/network.ts", at(`../${to}`)), to).toHaveLength(1);
    }
    // devices -> platform, ui, node, browser, fuzz.
    for (const to of ["machine/machine.ts", "ui/html.ts", "node/file-backend.ts", "browser/http-range-backend.ts", "fuzz/prng.ts"]) {
      expect(layerViolations("src/devices/blk/stack.test.ts", at(`../../${to}`)), to).toHaveLength(1);
    }
    // firmware: virtio's constants and nothing else of ours, no package; platform may use it.
    expect(layerViolations("src/firmware/acpi-ssdt.ts", at("../virtio/constants.ts"))).toEqual([]);
    for (const to of ["virtio/mmio-transport.ts", "platform/mmio-bus.ts", "platform/v86/internals.ts", "devices/blk/device.ts", "machine/machine.ts"]) {
      expect(layerViolations("src/firmware/acpi-ssdt.ts", at(`../${to}`)), to).toHaveLength(1);
    }
    for (const pkg of ["v86", "node:fs"]) expect(layerViolations("src/firmware/cpio-newc.ts", at(pkg)), pkg).toHaveLength(1);
    expect(layerViolations("src/platform/attach.ts", at("../firmware/acpi-ssdt.ts"))).toEqual([]);
    expect(layerViolations("src/devices/blk/device.ts", at("../../firmware/aml.ts"))).toHaveLength(1);
    // The core outside its tests: no DOM-only package, no Node built-in.
    expect(layerViolations("src/devices/blk/x.ts", at("@xterm/xterm"))).toHaveLength(1);
    expect(layerViolations("src/platform/x.ts", at("node:fs"))).toHaveLength(1);
    // What is allowed stays allowed.
    expect(layerViolations("src/devices/blk/device.ts", at("../../virtio/interfaces.ts"))).toEqual([]);
    expect(layerViolations("src/platform/build-v86.ts", at("v86"))).toEqual([]);
    // Our app's Machine stands above the glue: it builds its V86 through src/platform/build-v86.ts
    // and never imports the package; the glue never imports the Machine.
    expect(layerViolations("src/machine/machine.ts", at("v86"))).toHaveLength(1);
    expect(layerViolations("src/machine/machine.ts", at("../platform/build-v86.ts"))).toEqual([]);
    expect(layerViolations("src/platform/attach.ts", at("../machine/machine.ts"))).toHaveLength(1);
    expect(layerViolations("src/platform/x.test.ts", at("node:fs"))).toEqual([]);
    expect(layerViolations("src/machine/network.ts", at("../devices/net/device.ts"))).toEqual([]);
    // The front ends never import each other; machine and compare import neither.
    expect(layerViolations("src/node/machine-stats.ts", at("../ui/irq-mode.ts"))).toHaveLength(1);
    expect(layerViolations("src/ui/vm-view.ts", at("../node/boot.ts"))).toHaveLength(1);
    expect(layerViolations("src/compare/boot-mode.ts", at("../node/guest-console.ts"))).toHaveLength(1);
    expect(layerViolations("src/machine/msi-rows.ts", at("../ui/html.ts"))).toHaveLength(1);
    expect(layerViolations("src/ui/terminal.ts", at("@xterm/xterm"))).toEqual([]);
    // The session is below the page: it never imports ui/ (nor the Node front end), ui/ imports it.
    expect(layerViolations("src/session/vm-session.ts", at("../ui/html.ts"))).toHaveLength(1);
    expect(layerViolations("src/session/vm-session.ts", at("../node/boot.ts"))).toHaveLength(1);
    expect(layerViolations("src/session/vm-session.ts", at("@xterm/xterm"))).toHaveLength(1);
    expect(layerViolations("src/session/vm-session.ts", at("../browser/idb-state-store.ts"))).toEqual([]);
    expect(layerViolations("src/ui/vm-view.ts", at("../session/vm-session.ts"))).toEqual([]);
    expect(layerViolations("src/machine/network.ts", at("../session/settings.ts"))).toHaveLength(1);
    // src/testing: tests only, and only helpers within the test's own layer.
    const helperReach = (f: string) => (f === "src/testing/net-frames.ts" ? ["devices", "virtio"] : ["virtio"]);
    expect(layerViolations("src/virtio/x.test.ts", at("../testing/test-driver.ts"), helperReach)).toEqual([]);
    expect(layerViolations("src/virtio/x.test.ts", at("../testing/net-frames.ts"), helperReach)).toHaveLength(1);
    expect(layerViolations("src/devices/net/x.test.ts", at("../../testing/net-frames.ts"), helperReach)).toEqual([]);
    expect(layerViolations("src/devices/net/device.ts", at("../../testing/net-frames.ts"), helperReach)).toHaveLength(1);
    expect(layerViolations("src/testing/x.ts", at("../machine/machine.ts"))).toHaveLength(1);
    // The package's entries re-export the core and the backends, never the app.
    expect(layerViolations("src/lib/core.ts", at("../machine/network.ts"))).toHaveLength(1);
    expect(layerViolations("src/lib/core.ts", at("../platform/attach.ts"))).toEqual([]);
  });
});
