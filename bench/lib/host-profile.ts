// Where the host's time goes while the emulator works: V8's sampling CPU profiler (node:inspector,
// in this process), its samples summed into what the emulator was doing. Used on the boot, whose
// guest code mostly runs once: the question is how much of it v86 interprets, how much runs as
// code its JIT compiled, and how much goes to compiling.

import { Session } from "node:inspector/promises";

/** The categories, in the order the rows are shown. */
export const PROFILE_CATEGORIES = [
  "v86 interpreter",
  "v86 main loop",
  "guest code compiled by v86's JIT",
  "v86's JIT compiling",
  "v86's JavaScript (its devices, timers, loop)",
  "our devices and platform",
  "idle",
  "garbage collection",
  "everything else",
] as const;
export type ProfileCategory = (typeof PROFILE_CATEGORIES)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** v86.wasm's own functions that build code (its Rust JIT, the wasm builder, their hash maps and allocator). */
const COMPILER = /jit|codegen|wasmgen|analyzer|control_flow|hashbrown|RandomState|dlmalloc|drop_glue|alloc3vec/;

/** Which category one sample's function is in. */
export function categorize(f: CallFrame): ProfileCategory {
  const name = f.functionName;
  if (name === "(idle)") return "idle";
  if (name === "(garbage collector)") return "garbage collection";
  if (f.url.includes("v86.wasm")) {
    if (name === "main_loop") return "v86 main loop";
    return COMPILER.test(name) ? "v86's JIT compiling" : "v86 interpreter";
  }
  // The modules v86 compiles from guest code have no file: V8 names them by a hash.
  if (/^wasm-function\[\d+\]$/.test(name) || /^[0-9a-f]{8}$/.test(f.url)) return "guest code compiled by v86's JIT";
  // The JS side of compiling: v86's codegen_finalize hands the bytes to WebAssembly.instantiate.
  if (name === "instantiate" || name === "codegen_finalize") return "v86's JIT compiling";
  if (f.url.includes("/v86/build/")) return "v86's JavaScript (its devices, timers, loop)";
  // Our sources as tsx runs them (the benchmark's own files are in "everything else").
  if (f.url.includes("/src/") && !f.url.includes("/node_modules/")) return "our devices and platform";
  return "everything else";
}

/** Shares (0-1) of the sampled time per category. */
export function shares(profile: CpuProfile): Record<ProfileCategory, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const time = Object.fromEntries(PROFILE_CATEGORIES.map((c) => [c, 0])) as Record<ProfileCategory, number>;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (!node) return;
    time[categorize(node.callFrame)] += dt;
    total += dt;
  });
  for (const c of PROFILE_CATEGORIES) time[c] = total > 0 ? time[c] / total : Number.NaN;
  return time;
}

/** Starts sampling every `intervalUs`; `stop()` gives the category shares of what was sampled. */
export async function startHostProfile(intervalUs = 500): Promise<{ stop(): Promise<Record<ProfileCategory, number>> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  return {
    async stop() {
      const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
      await session.post("Profiler.disable");
      session.disconnect();
      return shares(profile);
    },
  };
}
