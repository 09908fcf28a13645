// The `guest` command's state file on disk (--save FILE, --restore FILE); the format itself is
// src/machine/state-file.ts, shared with the page.

import { readFileSync, writeFileSync } from "node:fs";
import { decodeSavedMachine, encodeSavedMachine, type SavedMachine } from "../machine/state-file.ts";

export type { SavedBoot, SavedMachine } from "../machine/state-file.ts";

export function writeSavedMachine(path: string, m: SavedMachine): void {
  writeFileSync(path, encodeSavedMachine(m));
}

export function readSavedMachine(path: string): SavedMachine {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read the saved machine ${path}: ${(error as Error).message}`);
  }
  return decodeSavedMachine(bytes);
}
