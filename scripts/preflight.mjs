// The first step of `npm test`: checks that this machine has what the test suite needs, and says
// what is missing with the command that installs it, instead of a test failing obscurely later
// or quietly skipping. Plain Node (no dependencies), so it runs before `npm ci` too.
//
// Needs: node_modules (npm ci); Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium);
// mke2fs (e2fsprogs); qemu-system-x86_64 (qemu-system-x86); the committed guest image; a stock kernel for tests/guest/stock-kernel.test.ts
// (STOCK_KERNEL, default /tmp/guest-stock/bzImage; STOCK_KERNEL=skip leaves that test out, said
// loudly); Debian's own i386 kernel for tests/guest/debian-kernel.test.ts (DEBIAN_KERNEL_DIR,
// default /tmp/debian-kernel, as guest/fetch-debian-kernel.sh leaves it; DEBIAN_KERNEL_DIR=skip
// leaves that test out, said loudly). Exit status 1 when anything is missing.
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

const repo = new URL("..", import.meta.url).pathname;
const missing = [];
const need = (ok, what, fix) => ok || missing.push({ what, fix });

const onPath = (cmd) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

need(existsSync(join(repo, "node_modules/.package-lock.json")), "npm packages (node_modules)", "npm ci");
const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
need(existsSync(chromium), `Chromium at ${chromium} (CHROMIUM_PATH)`, "sudo apt-get install -y --no-install-recommends chromium");
need(onPath("mke2fs"), "mke2fs (the guest tests make disk images with it)", "sudo apt-get install -y e2fsprogs");
need(
  onPath("qemu-system-x86_64"),
  "qemu-system-x86_64 (tests/guest/qemu-microvm.test.ts boots the guest kernel on QEMU's own virtio-mmio devices)",
  "sudo apt-get install -y --no-install-recommends qemu-system-x86",
);
for (const f of ["bzImage", "initrd.img", "bios.bin", "vgabios.bin", "disk.img"]) {
  need(existsSync(join(repo, "public/guest", f)), `public/guest/${f} (the committed guest image)`, "git checkout -- public/guest (or: bash guest/build.sh)");
}
const stock = process.env.STOCK_KERNEL || "/tmp/guest-stock/bzImage";
if (stock === "skip") {
  console.warn("preflight: STOCK_KERNEL=skip: tests/guest/stock-kernel.test.ts will not run (the unmodified driver is not tested)");
} else {
  need(
    existsSync(stock),
    `a kernel without our patch at ${stock} (STOCK_KERNEL), for the stock-driver test`,
    "sudo bash guest/install-deps.sh && GUEST_NO_PATCHES=1 bash guest/build.sh /tmp/guest-stock   (or STOCK_KERNEL=skip)",
  );
}
const debian = process.env.DEBIAN_KERNEL_DIR || "/tmp/debian-kernel";
if (debian === "skip") {
  console.warn("preflight: DEBIAN_KERNEL_DIR=skip: tests/guest/debian-kernel.test.ts will not run (a distribution kernel finding the devices through ACPI is not tested)");
} else {
  const boot = join(debian, "x/boot");
  const vmlinuz = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith("vmlinuz-")) : undefined;
  need(
    vmlinuz !== undefined && existsSync(join(debian, "x/lib/modules", vmlinuz.slice("vmlinuz-".length))),
    `Debian's i386 kernel (linux-image-686) extracted at ${debian}/x (DEBIAN_KERNEL_DIR), for the Debian-kernel test`,
    `sudo bash guest/fetch-debian-kernel.sh ${debian}   (or DEBIAN_KERNEL_DIR=skip)`,
  );
}

if (missing.length > 0) {
  console.error("npm test: this machine lacks what the tests need:");
  for (const m of missing) console.error(`  - ${m.what}\n      install: ${m.fix}`);
  console.error("On a fresh Debian 12 machine, as root, one command installs all of it and runs the suite:\n  bash scripts/test-from-scratch.sh");
  process.exit(1);
}
const kernels = [stock === "skip" ? "" : "the stock kernel", debian === "skip" ? "" : "Debian's kernel"].filter(Boolean);
console.log(`preflight: Chromium, e2fsprogs, QEMU, the guest image${kernels.map((k) => `, ${k}`).join("")} are here`);
