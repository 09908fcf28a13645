// What a machine of ours may be, written once: the page's settings (mem=), the `guest`
// command (--memory), the state-file reader (a file's declared memory, lengths and device
// state) and Machine.create all read these, so a value one door takes is never refused, or
// worse crashed on, at another. Each bound says why it is where it is. Here in platform/
// because Machine.create (the library's door) may import nothing above platform/.
//
// Every check returns the refusal as text that names the limit (docs/save-restore.md, "Limits"),
// or null when the value is within it.

const MiB = 1024 * 1024;

export const MachineLimits = {
  /**
   * Guest RAM in MiB. Minimum 80: v86 loads the initrd at 64 MiB, and the default guest's
   * initrd (2.3 MiB) and kernel need room above and below it. Maximum 2047: v86 0.5.462 keeps
   * the size in a signed 32-bit value, so 2048 MiB and more are silently clamped to 2 GiB less
   * 128 KiB (a machine other than the one asked for, which a saved state then does not fit) and
   * 4096 MiB wraps to 0 and fails inside v86's CPU setup.
   */
  memoryMB: { min: 80, max: 2047 },
  /**
   * A disk held whole in memory (a state file's disk, an uploaded image, one read whole): 1 GiB.
   * It lives in the page's (or the process's) memory beside the guest's RAM; a page holds at
   * most a few GiB in all, and the default disk is 8 MiB.
   */
  diskBytes: 1024 * MiB,
  /**
   * The kernel (bzImage): v86 copies its protected-mode part to 1 MiB and the initrd to 64 MiB,
   * so a kernel must fit below the initrd.
   */
  kernelBytes: 63 * MiB,
  /**
   * The device and transport state document of a state file (JSON), checked before it is
   * parsed. Firecracker refuses a device state over 10 MB; ours is smaller: each NIC may carry
   * its receive backlog (256 KiB by default, written as hex: 512 KiB) and each transport a few
   * KiB, for at most a handful of devices. 4 MiB leaves room for that and parses in tens of ms.
   */
  deviceStateBytes: 4 * MiB,
  /** A state file's header (JSON: boot options and lengths; a format-2 header also holds the device state). */
  stateHeaderBytes: 64 * 1024,
  /**
   * v86's own state beyond the guest's RAM: v86 saves the RAM's non-zero pages (so at most the
   * RAM) with a bitmap of them, and besides it the CPU, its devices (the VGA's 8 MiB) and a JSON
   * index (a 128 MiB guest at its prompt: about 20 MiB in all). A declared v86 state larger than
   * the RAM plus this is refused before it is read.
   */
  v86StateOverheadBytes: 64 * MiB,
  /**
   * A compressed state file, as downloaded (state=) or read (--restore): the largest container
   * the limits above allow (RAM, v86's overhead, the disk), since gzip does not make a file
   * larger than that by more than a few bytes per 16 KiB block.
   */
  get stateFileBytes(): number {
    return this.memoryMB.max * MiB + this.v86StateOverheadBytes + this.diskBytes + this.deviceStateBytes + this.stateHeaderBytes;
  },
} as const;

/** Why `mb` MiB of guest RAM is refused, or null when v86 builds it as asked. */
export function memoryProblem(mb: unknown): string | null {
  const { min, max } = MachineLimits.memoryMB;
  const why = `(v86 does not build ${max + 1} MiB or more as asked)`;
  if (typeof mb !== "number" || !Number.isInteger(mb)) return `${JSON.stringify(mb) ?? String(mb)} is not a whole number of MiB from ${min} to ${max} ${why}`;
  if (mb < min || mb > max) return `${mb} MiB is outside the supported memory range of ${min} to ${max} MiB ${why}`;
  return null;
}

/** Why a disk of `bytes` bytes is refused as one held in memory, or null. */
export function diskSizeProblem(bytes: number): string | null {
  if (bytes > MachineLimits.diskBytes) return `a disk of ${mib(bytes)} is over the limit of ${mib(MachineLimits.diskBytes)} for a disk held in memory`;
  return null;
}

/** `n` bytes as MiB for messages. */
export function mib(n: number): string {
  const v = n / MiB;
  return `${Number.isInteger(v) ? v : v.toFixed(1)} MiB`;
}
