// The `guest` command's state file on disk (--save FILE, --restore FILE); the format itself is
// src/machine/state-file.ts, compressed by src/machine/state-file-gzip.ts, shared with the page.

import { readFileSync, writeFileSync } from "node:fs";
import { packSavedMachine, unpackSavedMachine } from "../machine/state-file-gzip.ts";
import type { SavedMachine } from "../machine/state-file.ts";

export type { SavedBoot, SavedMachine } from "../machine/state-file.ts";

/** Writes the compressed state file. */
export async function writeSavedMachine(path: string, m: SavedMachine): Promise<void> {
  writeFileSync(path, await packSavedMachine(m));
}

/** Reads a compressed or an uncompressed (older) state file. */
export async function readSavedMachine(path: string): Promise<SavedMachine> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read the saved machine ${path}: ${(error as Error).message}`);
  }
  return unpackSavedMachine(bytes);
}
