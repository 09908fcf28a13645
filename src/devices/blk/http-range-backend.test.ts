import { describe, expect, it } from "vitest";
import { HttpRangeBackend, HttpRangeError, type FetchLike, type ResponseLike } from "./http-range-backend.ts";

interface ServerOptions {
  ignoreRange?: boolean;
  hideContentRange?: boolean;
  failFirst?: number; // this many requests throw a network error first
  etag?: { value: string };
}

/** A web server in a buffer: answers Range GETs the way a static file server does. */
function fakeServer(image: Uint8Array, opts: ServerOptions = {}) {
  const log: string[] = [];
  let failures = opts.failFirst ?? 0;
  const fetch: FetchLike = async (_url, init) => {
    const range = init.headers["Range"];
    log.push(`${init.method} ${range ?? ""}`);
    if (failures > 0) {
      failures--;
      throw new TypeError("network down");
    }
    const headers = new Map<string, string>();
    const respond = (status: number, body: Uint8Array): ResponseLike => ({
      status,
      headers: { get: (n) => headers.get(n.toLowerCase()) ?? null },
      arrayBuffer: async () => body.slice().buffer,
    });
    headers.set("content-length", String(image.length));
    if (opts.etag) headers.set("etag", opts.etag.value);
    if (init.method === "HEAD") return respond(200, new Uint8Array(0));
    const m = range === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
    if (opts.ignoreRange || m === null) return respond(200, image);
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), image.length - 1);
    if (!opts.hideContentRange) headers.set("content-range", `bytes ${start}-${end}/${image.length}`);
    return respond(206, image.subarray(start, end + 1));
  };
  return { fetch, log };
}

const IMAGE = new Uint8Array(10 * 1024 + 100).map((_, i) => (i * 7) & 0xff);

describe("HttpRangeBackend", () => {
  it("learns the size from Content-Range and reads across chunks", async () => {
    const server = fakeServer(IMAGE);
    const b = await HttpRangeBackend.open("http://x/disk.img", { fetch: server.fetch, chunkSize: 4096 });
    expect(b.size).toBe(IMAGE.length);
    expect(b.readOnly).toBe(true);
    const dest = new Uint8Array(6000);
    await b.read(3000, dest);
    expect(dest).toEqual(IMAGE.subarray(3000, 9000));
    // Chunk 0 came with the probe; chunks 1 and 2 (short: the image ends) once each.
    expect(server.log).toEqual(["GET bytes=0-4095", "GET bytes=4096-8191", "GET bytes=8192-10339"]);
  });

  it("answers synchronously once every chunk is cached, and fetches the short last chunk", async () => {
    const server = fakeServer(IMAGE);
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096 });
    const tail = new Uint8Array(100);
    await b.read(IMAGE.length - 100, tail);
    expect(tail).toEqual(IMAGE.subarray(IMAGE.length - 100));
    const again = new Uint8Array(100);
    expect(b.read(IMAGE.length - 100, again)).toBeUndefined();
    expect(again).toEqual(tail);
    expect(b.counters.cacheHits).toBeGreaterThan(0);
  });

  it("shares one request between reads of the same chunk", async () => {
    const server = fakeServer(IMAGE);
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096, size: IMAGE.length });
    const a = new Uint8Array(512);
    const c = new Uint8Array(512);
    await Promise.all([b.read(5000, a), b.read(6000, c)]);
    expect(server.log).toEqual(["GET bytes=4096-8191"]);
    expect(a).toEqual(IMAGE.subarray(5000, 5512));
    expect(c).toEqual(IMAGE.subarray(6000, 6512));
  });

  it("fails clearly when the server ignores Range", async () => {
    const server = fakeServer(IMAGE, { ignoreRange: true });
    await expect(HttpRangeBackend.open("u", { fetch: server.fetch })).rejects.toThrow(/ignored the Range header/);
    const known = await HttpRangeBackend.open("u", { fetch: server.fetch, size: IMAGE.length });
    await expect(known.read(0, new Uint8Array(512))).rejects.toBeInstanceOf(HttpRangeError);
  });

  it("falls back to HEAD when Content-Range is hidden", async () => {
    const server = fakeServer(IMAGE, { hideContentRange: true });
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096 });
    expect(b.size).toBe(IMAGE.length);
    expect(server.log).toEqual(["GET bytes=0-4095", "HEAD "]);
  });

  it("retries network errors, then gives up", async () => {
    const flaky = fakeServer(IMAGE, { failFirst: 2 });
    const b = await HttpRangeBackend.open("u", { fetch: flaky.fetch, chunkSize: 4096, size: IMAGE.length, retries: 2 });
    const dest = new Uint8Array(10);
    await b.read(0, dest);
    expect(dest).toEqual(IMAGE.subarray(0, 10));
    expect(b.counters.retries).toBe(2);
    const down = fakeServer(IMAGE, { failFirst: 99 });
    const d = await HttpRangeBackend.open("u", { fetch: down.fetch, size: IMAGE.length, retries: 1 });
    await expect(d.read(0, dest)).rejects.toThrow(/network down/);
    expect(d.counters.failures).toBe(1);
  });

  it("evicts the least recently used chunk", async () => {
    const server = fakeServer(IMAGE);
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096, size: IMAGE.length, maxCachedChunks: 2 });
    const d = new Uint8Array(1);
    await b.read(0, d);
    await b.read(4096, d);
    b.read(0, d); // touch chunk 0: chunk 1 becomes the oldest
    await b.read(8192, d);
    expect(b.counters.evictions).toBe(1);
    expect(b.read(0, d)).toBeUndefined();
    expect(b.read(4096, d)).toBeInstanceOf(Promise);
  });

  it("refuses chunks from a newer version of the image", async () => {
    const etag = { value: '"v1"' };
    const server = fakeServer(IMAGE, { etag });
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096 });
    expect(b.version).toBe('"v1"');
    await b.read(4096, new Uint8Array(1));
    etag.value = '"v2"';
    await expect(b.read(8192, new Uint8Array(1))).rejects.toThrow(/changed on the server/);
  });

  it("refuses writes and reads outside the image", async () => {
    const b = await HttpRangeBackend.open("u", { fetch: fakeServer(IMAGE).fetch, size: IMAGE.length });
    expect(() => b.write()).toThrow(/read-only/);
    expect(() => b.read(IMAGE.length - 1, new Uint8Array(2))).toThrow(RangeError);
  });
});
