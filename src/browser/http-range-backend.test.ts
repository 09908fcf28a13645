import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestDriver } from "../testing/test-driver.ts";
import { BLK_S, BLK_T } from "../devices/blk/constants.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import {
  DEFAULT_CACHE_BYTES,
  HttpRangeBackend,
  HttpRangeError,
  HttpTimeoutError,
  ImageChangedError,
  type FetchLike,
  type ResponseLike,
} from "./http-range-backend.ts";

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
    const b = await HttpRangeBackend.open("u", { fetch: server.fetch, chunkSize: 4096, size: IMAGE.length, cacheBytes: 2 * 4096 });
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

// ---- against a real HTTP server (node:http) through the real fetch ----

interface LiveServer {
  url: string;
  /** The image served now; replace it to "deploy" a new version. */
  image: Uint8Array;
  /** Bumped with each new image: the ETag and Last-Modified follow it. */
  version: number;
  etag: "strong" | "weak" | "none";
  honourIfRange: boolean;
  /** "headers": never answers; "body": sends the headers and half the body, then nothing. */
  stall: "no" | "headers" | "body";
  requests: { range: string | undefined; ifRange: string | undefined }[];
  close(): Promise<void>;
}

async function liveServer(image: Uint8Array): Promise<LiveServer> {
  const s: LiveServer = {
    url: "",
    image,
    version: 1,
    etag: "strong",
    honourIfRange: true,
    stall: "no",
    requests: [],
    close: async () => {},
  };
  const stalled = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    s.requests.push({ range: req.headers.range, ifRange: req.headers["if-range"] as string | undefined });
    const etag = s.etag === "none" ? null : `${s.etag === "weak" ? "W/" : ""}"img-${s.version}"`;
    const lastModified = new Date(Date.UTC(2026, 0, s.version)).toUTCString();
    const headers: Record<string, string> = { "last-modified": lastModified, "accept-ranges": "bytes" };
    if (etag !== null) headers["etag"] = etag;
    if (s.stall === "headers") {
      stalled.add(res);
      return;
    }
    const ifRange = req.headers["if-range"];
    const current = !s.honourIfRange || ifRange === undefined || ifRange === etag || ifRange === lastModified;
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m === null || !current) {
      res.writeHead(200, { ...headers, "content-length": s.image.length }).end(s.image);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), s.image.length - 1);
    const body = s.image.subarray(start, end + 1);
    res.writeHead(206, { ...headers, "content-length": body.length, "content-range": `bytes ${start}-${end}/${s.image.length}` });
    if (s.stall === "body") {
      res.write(body.subarray(0, body.length >> 1));
      stalled.add(res);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/disk.img`;
  s.close = () => {
    for (const res of stalled) res.destroy();
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return s;
}

const BIG = new Uint8Array(64 * 1024).map((_, i) => (i * 13 + (i >> 9)) & 0xff);

describe("HttpRangeBackend over HTTP", () => {
  let server: LiveServer;
  beforeEach(async () => {
    server = await liveServer(BIG);
  });
  afterEach(async () => {
    await server.close();
  });

  it("reads byte-exact ranges and sends the ETag as If-Range after the first answer", async () => {
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096 });
    expect(b.size).toBe(BIG.length);
    expect(b.version).toBe('"img-1"');
    const dest = new Uint8Array(10_000);
    await b.read(5000, dest);
    expect(dest).toEqual(BIG.subarray(5000, 15_000));
    expect(server.requests[0]).toEqual({ range: "bytes=0-4095", ifRange: undefined });
    expect(server.requests.slice(1).map((r) => r.ifRange)).toEqual(['"img-1"', '"img-1"', '"img-1"']);
  });

  it("uses Last-Modified for If-Range when the ETag is weak (RFC 9110 forbids weak ones there)", async () => {
    server.etag = "weak";
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096 });
    await b.read(8192, new Uint8Array(1));
    expect(server.requests[1]!.ifRange).toBe(new Date(Date.UTC(2026, 0, 1)).toUTCString());
  });

  it("a server that never answers fails the read at the deadline, counted, not retried; then recovers", async () => {
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096, timeoutMs: 300, retries: 2 });
    server.stall = "headers";
    const started = Date.now();
    const error = await Promise.resolve(b.read(8192, new Uint8Array(16))).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(b.counters.timeouts).toBe(1);
    expect(b.counters.failures).toBe(1);
    expect(server.requests).toHaveLength(2); // the probe, one attempt
    server.stall = "no";
    const dest = new Uint8Array(16);
    await b.read(8192, dest);
    expect(dest).toEqual(BIG.subarray(8192, 8208));
  });

  it("a body that stops halfway fails at the deadline too", async () => {
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096, timeoutMs: 300 });
    server.stall = "body";
    await expect(b.read(12_288, new Uint8Array(16))).rejects.toBeInstanceOf(HttpTimeoutError);
    expect(b.counters.timeouts).toBe(1);
  });

  it("the open probe has the deadline as well", async () => {
    server.stall = "headers";
    await expect(HttpRangeBackend.open(server.url, { timeoutMs: 200 })).rejects.toBeInstanceOf(HttpTimeoutError);
  });

  const changes = [
    { name: "a server honouring If-Range (answers 200 with the new image)", etag: "strong", honourIfRange: true },
    { name: "a server ignoring If-Range (a 206 of the new image, new ETag)", etag: "strong", honourIfRange: false },
    { name: "a server with only Last-Modified", etag: "none", honourIfRange: true },
    { name: "a cross-origin page that sends no If-Range (conditional off)", etag: "strong", honourIfRange: true, conditional: false },
  ] as const;

  it.each(changes)("a changed image fails every read from then on: $name", async (c) => {
    server.etag = c.etag;
    server.honourIfRange = c.honourIfRange;
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096, ...("conditional" in c ? { conditional: c.conditional } : {}) });
    const first = new Uint8Array(4096);
    await b.read(4096, first);
    expect(first).toEqual(BIG.subarray(4096, 8192));
    // A new image of the same size is deployed.
    server.image = BIG.map((x) => x ^ 0xff);
    server.version++;
    const dest = new Uint8Array(4096);
    await expect(b.read(8192, dest)).rejects.toBeInstanceOf(ImageChangedError);
    expect(dest.every((x) => x === 0)).toBe(true); // no byte of the new image
    expect(b.counters.imageChanged).toBe(1);
    expect(b.error).toBeInstanceOf(ImageChangedError);
    // Even a cached chunk of the old image is refused now, and nothing is asked of the server.
    const asked = server.requests.length;
    await expect(b.read(4096, new Uint8Array(1))).rejects.toThrow(/changed on the server/);
    expect(server.requests.length).toBe(asked);
    expect(b.counters.cachedBytes).toBe(0);
  });

  it("keeps the cache within its byte budget, least recently used out first", async () => {
    const b = await HttpRangeBackend.open(server.url, { chunkSize: 4096, cacheBytes: 3 * 4096 });
    for (let i = 0; i < 16; i++) {
      await b.read(i * 4096, new Uint8Array(4096));
      expect(b.counters.cachedBytes).toBeLessThanOrEqual(3 * 4096);
    }
    expect(b.counters.evictions).toBe(13);
    expect(b.read(15 * 4096, new Uint8Array(1))).toBeUndefined(); // still cached
    const before = server.requests.length;
    const d = new Uint8Array(4096);
    await b.read(0, d); // evicted long ago: fetched again, same bytes
    expect(d).toEqual(BIG.subarray(0, 4096));
    expect(server.requests.length).toBe(before + 1);
  });
});

describe("HttpRangeBackend defaults", () => {
  it("caches at most 64 MiB of an image larger than that", async () => {
    const image = new Uint8Array(80 * 1024 * 1024);
    const b = await HttpRangeBackend.open("u", { fetch: fakeServer(image).fetch, chunkSize: 1024 * 1024 });
    expect(DEFAULT_CACHE_BYTES).toBe(64 * 1024 * 1024);
    for (let i = 0; i < 80; i++) await b.read(i * 1024 * 1024, new Uint8Array(1));
    expect(b.counters.cachedBytes).toBe(DEFAULT_CACHE_BYTES);
    expect(b.counters.evictions).toBe(16);
  });
});

describe("a lazy disk under the block device", () => {
  it("a read the server never answers completes with IOERR at the deadline, counted", async () => {
    const server = await liveServer(BIG);
    try {
      const http = await HttpRangeBackend.open(server.url, { chunkSize: 4096, timeoutMs: 300 });
      const dev = new BlockDevice({ backend: http, readOnly: true });
      const d = new TestDriver({ device: dev });
      expect(d.init().ok).toBe(true);
      server.stall = "headers";
      const h = new Uint8Array(16);
      new DataView(h.buffer).setUint32(0, BLK_T.IN, true);
      new DataView(h.buffer).setUint32(8, 40, true); // sector 40: an uncached chunk
      const chain = d.addChain(0, { readable: [h], writable: [512, 1] });
      d.notify(0);
      d.runTasks();
      const used: { id: number; len: number }[] = [];
      for (let i = 0; i < 300 && used.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        d.runTasks();
        used.push(...d.takeUsed(0));
      }
      expect(used.map((u) => u.id)).toEqual([chain.head]);
      expect(d.read(chain.writable[1]!.addr, 1)[0]).toBe(BLK_S.IOERR);
      expect(http.counters.timeouts).toBe(1);
      expect(dev.counters.errors).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
