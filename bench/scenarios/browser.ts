import type { Section } from "../lib/table.ts";
export async function runBrowser(_runs: number, _log: (...a: unknown[]) => void): Promise<Section[]> {
  return [];
}
