// The `guest` command's state file on disk (--save FILE, --restore FILE); the format itself is
// src/machine/state-file.ts, compressed by src/machine/state-file-gzip.ts, shared with the page.

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { packSavedMachine, stateFileSizeProblem, unpackSavedMachine } from "../machine/state-file-gzip.ts";
import { StateFileError, type SavedMachine } from "../machine/state-file.ts";

export type { SavedBoot, SavedMachine } from "../machine/state-file.ts";

/** Writes the compressed state file. */
export async function writeSavedMachine(path: string, m: SavedMachine): Promise<void> {
  writeFileSync(path, await packSavedMachine(m));
}

/**
 * Reads a compressed or an uncompressed (older) state file. A file over the size limit is
 * refused before it is read (MachineLimits.stateFileBytes, docs/save-restore.md "Limits").
 */
export async function readSavedMachine(path: string): Promise<SavedMachine> {
  let bytes: Uint8Array;
  try {
    const tooBig = stateFileSizeProblem(statSync(path).size);
    if (tooBig !== null) throw new StateFileError(tooBig);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    throw new Error(`cannot read the saved machine ${path}: ${(error as Error).message}`);
  }
  return unpackSavedMachine(bytes);
}
