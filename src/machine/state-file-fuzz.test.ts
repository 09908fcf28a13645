// The state-file fuzzer (docs/save-restore.md, "Limits"): thousands of damaged, edited and
// hostile files (truncations, bit flips, rewritten lengths, lengths past the limits, gzip bombs,
// concatenated gzip members, format 2 and 3, compressed and not) given to the reader that the
// page and the `guest` command use. Every input is either read back identically to the machine
// that was saved or refused with a StateFileError (never another exception), and what the
// reader allocates and the process's peak memory stay bounded. FUZZ_SEED picks another run.
import { constants, createGzip, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Prng } from "../testing/prng.ts";
import { fakeV86State } from "../testing/fake-v86-state.ts";
import { MachineLimits } from "../platform/machine-limits.ts";
import { encodeSavedMachine, StateFileError, type SavedMachine } from "./state-file.ts";
import { container, encodeFormat2, fixtureMachine } from "./state-file-fixture.ts";
import { unpackSavedMachine } from "./state-file-gzip.ts";

const SEED = Number(process.env["FUZZ_SEED"] ?? 25);
const MiB = 2 ** 20;

const original: SavedMachine = fixtureMachine(fakeV86State(6000, (i) => (i % 512 < 64 ? (i * 31) & 0xff : 0)), { diskBytes: 8192 });
const gzip = (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: constants.Z_BEST_COMPRESSION }));
const zeros = (n: number) => new Uint8Array(n);

/** One gzip member of `prefix` then `n` zero bytes, made a MiB at a time (the test never holds the zeros). */
async function gzipZeros(n: number, prefix: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  const gz = createGzip({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  gz.on("data", (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve) => gz.on("end", resolve));
  gz.write(prefix);
  const chunk = zeros(MiB);
  for (let left = n; left > 0; left -= MiB) {
    if (!gz.write(chunk.subarray(0, Math.min(MiB, left)))) await new Promise((resolve) => gz.once("drain", resolve));
  }
  gz.end();
  await ended;
  return new Uint8Array(Buffer.concat(parts));
}

type Outcome = { kind: "same" } | { kind: "refused"; message: string };

/** Reads `file`; fails the test on anything but an identical machine or a StateFileError. */
async function outcome(file: Uint8Array, budget: number, label: string): Promise<Outcome> {
  let allocated = 0;
  try {
    const m = await unpackSavedMachine(file, { onAllocate: (n) => (allocated += n) });
    expect(m.boot, label).toEqual(original.boot);
    expect(m.devices, label).toEqual(original.devices);
    expect(Buffer.from(m.v86State).equals(Buffer.from(original.v86State)), label).toBe(true);
    expect(m.disk && Buffer.from(m.disk).equals(Buffer.from(original.disk!)), label).toBe(true);
    return { kind: "same" };
  } catch (error) {
    if (!(error instanceof StateFileError)) throw new Error(`${label}: not a StateFileError: ${(error as Error).stack}`);
    expect(error.message, label).toMatch(/^not a usable saved machine: \S/);
    return { kind: "refused", message: error.message };
  } finally {
    expect(allocated, `${label}: bytes allocated`).toBeLessThanOrEqual(budget);
  }
}

/** `file` with `n` random bits flipped. */
function flipped(rng: Prng, file: Uint8Array, n: number): Uint8Array {
  const copy = Uint8Array.from(file);
  for (let i = 0; i < n; i++) copy[rng.int(copy.length)]! ^= 1 << rng.int(8);
  return copy;
}

/** The format-3 header of `original` with `edit` applied, then `body` as the rest of the file. */
function withHeader(edit: Record<string, unknown>, body: Uint8Array): Uint8Array {
  const h = { kind: "v86-msi-saved-machine", version: 3, boot: original.boot, devicesBytes: 2, v86Bytes: 6000, diskBytes: 8192, ...edit };
  return container(h, body);
}

describe("state file fuzzer", () => {
  const plain3 = encodeSavedMachine(original);
  const plain2 = encodeFormat2(original);
  const bases = { plain3, plain2, gzip3: gzip(plain3), gzip2: gzip(plain2) };
  /** Anything read from a mutation of a base allocates at most its own size and a little more. */
  const smallBudget = plain3.length * 2 + 64 * 1024;

  it("reads every base identically", async () => {
    for (const [name, file] of Object.entries(bases)) expect(await outcome(file, smallBudget, name), name).toEqual({ kind: "same" });
  });

  it(`truncations and bit flips are refused or read identically (seed ${SEED})`, async () => {
    const rng = new Prng(SEED);
    const counts = { same: 0, refused: 0 };
    for (const [name, file] of Object.entries(bases)) {
      // Every cut of the compressed files, a spread of cuts of the plain ones.
      const cuts = file.length < 4000 ? file.length : 600;
      for (let i = 0; i < cuts; i++) {
        const at = file.length < 4000 ? i : rng.int(file.length);
        const r = await outcome(file.subarray(0, at), smallBudget, `${name} cut at ${at}`);
        expect(r.kind, `${name} cut at ${at}`).toBe("refused");
      }
      for (let i = 0; i < 700; i++) {
        const n = 1 + rng.int(4);
        const r = await outcome(flipped(rng, file, n), smallBudget, `${name} flip ${i} (${n} bits, seed ${SEED})`);
        counts[r.kind]++;
      }
    }
    // A flipped bit is caught by a CRC-32 (the container's or gzip's), a length or a check.
    expect(counts.refused).toBeGreaterThan(2700);
  });

  it("rewritten lengths and boot options are refused before the bytes they declare are read, naming the limit", async () => {
    const rng = new Prng(SEED + 1);
    const body = plain3.subarray(plain3.length - 4 - 8192 - 6000 - 2, plain3.length - 4);
    const huge = [2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, -1, 1.5, 1e308, "12", null];
    for (let i = 0; i < 300; i++) {
      const field = rng.pick(["devicesBytes", "v86Bytes", "diskBytes"] as const);
      const value = rng.chance(0.5) ? rng.pick(huge) : rng.int(2 ** 24);
      const file = withHeader({ [field]: value }, body);
      const label = `${field}=${String(value)}`;
      const r = await outcome(rng.chance(0.5) ? gzip(file) : file, Math.max(smallBudget, typeof value === "number" && value < 2 ** 24 ? value + smallBudget : 0), label);
      if (value !== null && (typeof value !== "number" || value > 2 ** 30 || !Number.isInteger(value))) expect(r, label).toMatchObject({ kind: "refused", message: expect.stringMatching(/the limit of \d+/) });
    }
    for (const memoryMB of [0, 79, 2048, 4096, 2 ** 31, -128, 128.5, "128", null]) {
      const r = await outcome(withHeader({ boot: { ...original.boot, memoryMB } }, body), smallBudget, `memoryMB ${String(memoryMB)}`);
      expect(r, `memoryMB ${String(memoryMB)}`).toMatchObject({ kind: "refused", message: expect.stringMatching(/its memory: .*80 to 2047/) });
    }
    // A header length past its limit: refused from the first 12 bytes, whatever follows.
    const prefix = Uint8Array.from(plain3.subarray(0, 12));
    new DataView(prefix.buffer).setUint32(8, MachineLimits.stateHeaderBytes + MachineLimits.deviceStateBytes + 1, true);
    expect(await outcome(await gzipZeros(MiB, prefix), 12, "header length")).toMatchObject({ message: expect.stringMatching(/over the limit of 4259840/) });
  });

  it("gzip bombs are refused after their first bytes, with memory bounded", async () => {
    const before = process.memoryUsage();
    // 256 MiB of zeros in 256 KiB: refused by the magic.
    const bomb = await gzipZeros(256 * MiB);
    expect(bomb.length).toBeLessThan(300 * 1024);
    expect(await outcome(bomb, 12, "bomb")).toEqual({ kind: "refused", message: "not a usable saved machine: wrong magic (not a state file)" });
    // The same as sixteen concatenated members.
    const member = await gzipZeros(16 * MiB);
    const members = new Uint8Array(member.length * 16);
    for (let i = 0; i < 16; i++) members.set(member, i * member.length);
    expect(await outcome(members, 12, "members")).toMatchObject({ kind: "refused" });
    // A valid header declaring the most the limits allow for 128 MiB, then zeros: refused at
    // the start of v86's part (its magic), before the 192 MiB are filled.
    const v86Max = 128 * MiB + MachineLimits.v86StateOverheadBytes;
    const declared = withHeader({ v86Bytes: v86Max, diskBytes: MachineLimits.diskBytes }, new Uint8Array(0));
    const header = declared.subarray(0, declared.length - 4);
    const bombed = await gzipZeros(64 * MiB, new Uint8Array([...header, 0x7b, 0x7d]));
    const r = await outcome(bombed, 64 * 1024 + v86Max, "declared bomb");
    expect(r).toEqual({ kind: "refused", message: "not a usable saved machine: v86's state does not start with v86's magic" });
    // A good file followed by another member, or by garbage.
    expect(await outcome(new Uint8Array([...bases.gzip3, ...gzip(zeros(MiB))]), smallBudget, "extra member")).toMatchObject({ kind: "refused" });
    expect(await outcome(new Uint8Array([...bases.gzip3, 1, 2, 3]), smallBudget, "trailing garbage")).toMatchObject({ kind: "refused" });
    expect(await outcome(new Uint8Array([...plain3, 0]), smallBudget, "plain, one byte more")).toMatchObject({ kind: "refused", message: expect.stringMatching(/goes on past/) });
    // What the reads left behind: far less than what the bombs inflate to (256 MiB and more).
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * MiB);
    expect(process.resourceUsage().maxRSS * 1024).toBeLessThan(before.rss + 400 * MiB);
  });
});
