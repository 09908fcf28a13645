// ACPI tables for Linux through the initrd: a kernel built with CONFIG_ACPI_TABLE_UPGRADE
// (Debian's, among others) looks at the front of its initrd, early in the boot, for uncompressed
// cpio archives holding kernel/firmware/acpi/*.aml, checks each table's length and checksum, and
// adds them to the firmware's tables (or replaces one with the same signature and OEM IDs). The
// rest of the initrd is unpacked as usual: the kernel's unpacker goes from one archive to the
// next, compressed or not, so the user's own initrd follows unchanged.

import { newcArchive, readNewc, S_IFDIR, S_IFREG } from "./cpio-newc.ts";

/** Where Linux's table upgrade looks inside the early cpio (its cpio_path). */
export const ACPI_INITRD_DIR = "kernel/firmware/acpi";

/** The file name the virtio-mmio SSDT gets in the archive. */
export const VIRTIO_MMIO_AML = "virtio-mmio.aml";

/** An uncompressed newc archive with `table` at kernel/firmware/acpi/`file` (and its directories). */
export function acpiTableCpio(table: Uint8Array, file = VIRTIO_MMIO_AML): Uint8Array {
  if (!/^[\w.-]+\.aml$/.test(file)) throw new Error(`ACPI initrd: "${file}" is not a plain file name ending in .aml`);
  const dirs = ACPI_INITRD_DIR.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  return newcArchive([...dirs.map((name) => ({ name, mode: S_IFDIR | 0o755 })), { name: `${ACPI_INITRD_DIR}/${file}`, mode: S_IFREG | 0o644, data: table }]);
}

/**
 * The initrd to boot with: the archive holding `table` (virtioMmioAcpiTable's SSDT), then the
 * user's `initrd` (any initramfs the kernel can unpack: compressed or not; none for a kernel that
 * mounts its root elsewhere). The archive's length is a multiple of 4, as an uncompressed archive
 * after it would need.
 */
export function prependAcpiTable(table: Uint8Array, initrd: Uint8Array = new Uint8Array(0), file = VIRTIO_MMIO_AML): Uint8Array {
  const archive = acpiTableCpio(table, file);
  const out = new Uint8Array(archive.length + initrd.length);
  out.set(archive, 0);
  out.set(initrd, archive.length);
  return out;
}

/**
 * The ACPI tables Linux's table upgrade would take from this initrd: the files under
 * kernel/firmware/acpi/ in the uncompressed archives at its front (zero padding between them
 * skipped), up to the first thing that is not one (a compressed archive, the end).
 */
export function initrdAcpiTables(initrd: Uint8Array): Array<{ name: string; table: Uint8Array }> {
  const found: Array<{ name: string; table: Uint8Array }> = [];
  let at = 0;
  while (at < initrd.length) {
    if (initrd[at] === 0) {
      at += 4;
      continue;
    }
    let archive: ReturnType<typeof readNewc>;
    try {
      archive = readNewc(initrd, at);
    } catch {
      break;
    }
    for (const e of archive.entries) {
      if (e.name.startsWith(`${ACPI_INITRD_DIR}/`) && (e.mode & 0o170000) === S_IFREG) found.push({ name: e.name, table: e.data });
    }
    at = archive.end;
  }
  return found;
}
