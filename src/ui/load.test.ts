// The page's downloads stop at their limit: at once when the server declares a larger
// Content-Length, else as soon as the bytes counted pass it (a server that sends no length,
// or a wrong one), with the reason a person can read.
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchImage, ImageLoadError } from "./load.ts";

afterEach(() => vi.unstubAllGlobals());

/** A response of `chunks` chunks of 64 KiB, counting what the page pulled. */
function serve(chunks: number, headers: Record<string, string> = {}) {
  const pulled = { n: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled.n === chunks) return c.close();
      pulled.n++;
      c.enqueue(new Uint8Array(64 * 1024));
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
  vi.stubGlobal("fetch", async () => new Response(body, { headers }));
  return pulled;
}

describe("fetchImage's size limit", () => {
  it("refuses a declared Content-Length over the limit before reading the body", async () => {
    const pulled = serve(100, { "content-length": String(100 * 64 * 1024) });
    const error = await fetchImage("state", "saved/big.state", () => {}, 1024 * 1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageLoadError);
    expect((error as Error).message).toBe('Could not load saved/big.state: it is 6.3 MiB or more, over the limit of 1 MiB for the state (docs/save-restore.md, "Limits")');
    expect(pulled.n).toBeLessThanOrEqual(2);
  });

  it("counts the bytes of a body with no length and stops past the limit", async () => {
    const pulled = serve(1000);
    await expect(fetchImage("kernel", "k", () => {}, 1024 * 1024)).rejects.toThrow(/Could not load k: it is 1\.1 MiB or more, over the limit of 1 MiB for the kernel/);
    expect(pulled.n).toBeLessThan(20);
    expect(pulled.cancelled).toBe(true);
  });

  it("takes a file within the limit", async () => {
    serve(4);
    expect((await fetchImage("disk", "d", () => {}, 1024 * 1024)).byteLength).toBe(256 * 1024);
  });
});
