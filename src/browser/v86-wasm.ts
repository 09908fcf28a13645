// v86's WebAssembly, compiled once per page and started as soon as the page starts: beside the
// guest's files and a state file, not after them. Left to itself, v86 fetches and compiles its
// wasm only when an emulator is created, which for a page restoring a saved state is after the
// state file has arrived and been read: a few hundred milliseconds in a row that can overlap.
// Every VM and every restart of the page instantiates the same compiled module.

/** What v86's `wasm_fn` option is: instantiate with these imports, resolve with the exports. */
export type InstantiateV86 = (imports: Record<string, unknown>) => Promise<unknown>;

async function compile(url: string): Promise<WebAssembly.Module> {
  try {
    // Compiles while it downloads; needs the server to say application/wasm.
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return WebAssembly.compile(await response.arrayBuffer());
  }
}

/** Starts fetching and compiling `url` now; the function it returns instantiates that module. */
export function precompiledV86(url: string): InstantiateV86 {
  const module = compile(url);
  // Nobody may ask before a failure is reported: keep it from being an unhandled rejection
  // here; each instantiation still sees it.
  module.catch(() => undefined);
  return async (imports) => (await WebAssembly.instantiate(await module, imports as WebAssembly.Imports)).exports;
}
