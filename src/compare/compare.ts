// The comparison: each mode booted on a machine of its own, one after another, the same
// workload measured on each, the machine destroyed before the next boots.

import { bootMode, type CompareEnv } from "./boot-mode.ts";
import { measureMode, type ModeFigures, type Progress } from "./measure-mode.ts";
import { COMPARE_MODES, type CompareModeKey } from "./modes.ts";

export async function compareModes(env: CompareEnv, keys: readonly CompareModeKey[], progress: Progress = () => {}): Promise<ModeFigures[]> {
  const out: ModeFigures[] = [];
  for (const [i, key] of keys.entries()) {
    const mode = COMPARE_MODES[key];
    progress(`${mode.label} (${i + 1} of ${keys.length}): booting`);
    const m = await bootMode(env, mode);
    try {
      out.push(await measureMode(m, (text) => progress(`${text} (${i + 1} of ${keys.length})`)));
    } finally {
      await m.shutdown();
    }
  }
  return out;
}
