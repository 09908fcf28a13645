// A read-only disk image on a web server, fetched lazily in fixed-size chunks with HTTP Range
// requests, so a large image boots without downloading it whole. Put an OverlayBackend on top
// to make it writable.

import type { BlockBackend } from "./backend.ts";

/** The part of a fetch Response this backend uses (so tests can serve bytes from a buffer). */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string> }) => Promise<ResponseLike>;

export interface HttpRangeBackendOptions {
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Bytes per request and cache entry, a multiple of 512. Default 256 KiB. */
  chunkSize?: number;
  /** Image size in bytes when known; otherwise learnt from the first response. */
  size?: number;
  /** Chunks kept in memory, least recently used dropped first. Default 1024 (256 MiB at the default chunk size). */
  maxCachedChunks?: number;
  /** Extra attempts after a network error or a 5xx. Default 2. */
  retries?: number;
}

/** The server or the network did not give us the bytes we asked for. */
export class HttpRangeError extends Error {
  override name = "HttpRangeError";
}

export function newHttpRangeCounters() {
  return { requests: 0, bytesFetched: 0, cacheHits: 0, cacheMisses: 0, retries: 0, failures: 0, evictions: 0 };
}

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

export class HttpRangeBackend implements BlockBackend {
  readonly url: string;
  readonly size: number;
  readonly readOnly = true;
  readonly chunkSize: number;
  readonly counters = newHttpRangeCounters();
  /**
   * The image's version as the server labels it (ETag, else Last-Modified), null if it gives
   * none. Good in an overlay's imageId; a chunk from another version is refused.
   */
  readonly version: string | null;
  readonly #fetch: FetchLike;
  readonly #maxCached: number;
  readonly #retries: number;
  /** Insertion order is recency order: a hit moves the chunk to the end. */
  readonly #cache = new Map<number, Uint8Array>();
  /** One request per chunk however many reads want it. */
  readonly #loading = new Map<number, Promise<Uint8Array>>();

  private constructor(url: string, size: number, version: string | null, fetchFn: FetchLike, options: HttpRangeBackendOptions) {
    this.url = url;
    this.size = size;
    this.version = version;
    this.chunkSize = options.chunkSize ?? 256 * 1024;
    this.#fetch = fetchFn;
    this.#maxCached = Math.max(1, options.maxCachedChunks ?? 1024);
    this.#retries = options.retries ?? 2;
  }

  /** Opens the image, learning its size (and checking that ranges work) unless `size` is given. */
  static async open(url: string, options: HttpRangeBackendOptions = {}): Promise<HttpRangeBackend> {
    const chunkSize = options.chunkSize ?? 256 * 1024;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 512 || chunkSize % 512 !== 0) {
      throw new RangeError(`chunk size ${chunkSize} is not a positive multiple of 512`);
    }
    // Bound so a page's fetch is not called with the backend as `this` (an "Illegal invocation").
    const fetchFn = options.fetch ?? (globalThis.fetch.bind(globalThis) as FetchLike);
    if (options.size !== undefined) {
      if (!Number.isSafeInteger(options.size) || options.size < 0) throw new RangeError(`bad size ${options.size}`);
      return new HttpRangeBackend(url, options.size, null, fetchFn, options);
    }
    // The first chunk both proves the server honours Range and tells the total size.
    const probe = await fetchRange(fetchFn, url, 0, chunkSize - 1);
    let size = probe.total;
    if (size === null) size = await headSize(fetchFn, url);
    const backend = new HttpRangeBackend(url, size, probe.version, fetchFn, options);
    backend.counters.requests++;
    backend.counters.bytesFetched += probe.body.length;
    if (probe.body.length === Math.min(chunkSize, size)) backend.#remember(0, probe.body);
    return backend;
  }

  read(offset: number, dest: Uint8Array): void | Promise<void> {
    const end = offset + dest.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || end > this.size) {
      throw new RangeError(`read ${offset}+${dest.length} outside a ${this.size}-byte image`);
    }
    if (dest.length === 0) return;
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((end - 1) / this.chunkSize);
    let missing = false;
    for (let i = first; i <= last; i++) {
      const hit = this.#cache.get(i);
      if (hit === undefined) {
        missing = true;
        continue;
      }
      this.#touch(i, hit);
      this.#copy(i, hit, offset, dest);
    }
    if (!missing) return; // all cached: answer synchronously
    const waits: Promise<void>[] = [];
    for (let i = first; i <= last; i++) {
      if (this.#cache.has(i)) continue;
      this.counters.cacheMisses++;
      waits.push(this.#chunk(i).then((bytes) => this.#copy(i, bytes, offset, dest)));
    }
    return Promise.all(waits).then(() => undefined);
  }

  write(): never {
    throw new HttpRangeError("an HTTP image is read-only");
  }
  discard(): never {
    throw new HttpRangeError("an HTTP image is read-only");
  }
  writeZeroes(): never {
    throw new HttpRangeError("an HTTP image is read-only");
  }
  flush(): void {
    // Nothing is ever written.
  }

  /** Copies the part of chunk `i` that overlaps [offset, offset + dest.length) into dest. */
  #copy(i: number, bytes: Uint8Array, offset: number, dest: Uint8Array): void {
    const chunkStart = i * this.chunkSize;
    const from = Math.max(offset, chunkStart);
    const to = Math.min(offset + dest.length, chunkStart + bytes.length);
    if (to > from) dest.set(bytes.subarray(from - chunkStart, to - chunkStart), from - offset);
  }

  #touch(i: number, bytes: Uint8Array): void {
    this.counters.cacheHits++;
    this.#cache.delete(i);
    this.#cache.set(i, bytes);
  }

  #remember(i: number, bytes: Uint8Array): void {
    this.#cache.set(i, bytes);
    while (this.#cache.size > this.#maxCached) {
      const oldest = this.#cache.keys().next().value as number;
      this.#cache.delete(oldest);
      this.counters.evictions++;
    }
  }

  #chunk(i: number): Promise<Uint8Array> {
    const loading = this.#loading.get(i);
    if (loading !== undefined) return loading;
    const start = i * this.chunkSize;
    const end = Math.min(this.size, start + this.chunkSize) - 1;
    const p = this.#fetchWithRetry(start, end).then(
      (bytes) => {
        this.#loading.delete(i);
        this.#remember(i, bytes);
        return bytes;
      },
      (err: unknown) => {
        this.#loading.delete(i);
        this.counters.failures++;
        throw err;
      },
    );
    this.#loading.set(i, p);
    return p;
  }

  async #fetchWithRetry(start: number, end: number): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      this.counters.requests++;
      try {
        const r = await fetchRange(this.#fetch, this.url, start, end);
        // Mixing chunks of two versions of an image would corrupt the disk silently.
        if ((r.total !== null && r.total !== this.size) || (this.version !== null && r.version !== null && r.version !== this.version)) {
          throw new HttpRangeError(`${this.url} changed on the server since it was opened`);
        }
        if (r.body.length !== end - start + 1) {
          throw new HttpRangeError(`${this.url}: asked for ${end - start + 1} bytes at ${start}, got ${r.body.length}`);
        }
        this.counters.bytesFetched += r.body.length;
        return r.body;
      } catch (err) {
        // A server that answers wrongly will keep doing so; only transient failures are retried.
        if (!(err instanceof TransientError) || attempt >= this.#retries) throw unwrap(err);
        this.counters.retries++;
      }
    }
  }
}

/** A failure worth retrying: the network, or a 5xx. */
class TransientError extends HttpRangeError {}

function unwrap(err: unknown): unknown {
  return err instanceof TransientError ? new HttpRangeError(err.message) : err;
}

interface RangeAnswer {
  readonly body: Uint8Array;
  /** Total image size from Content-Range; null when the server wrote "*" or hid the header. */
  readonly total: number | null;
  /** ETag, else Last-Modified, else null. */
  readonly version: string | null;
}

/** GETs bytes [start, end] and checks that the server really answered with that range. */
async function fetchRange(fetchFn: FetchLike, url: string, start: number, end: number): Promise<RangeAnswer> {
  let res: ResponseLike;
  try {
    res = await fetchFn(url, { method: "GET", headers: { Range: `bytes=${start}-${end}` } });
  } catch (err) {
    throw new TransientError(`fetching ${url} failed: ${String(err)}`);
  }
  if (res.status >= 500) throw new TransientError(`${url}: HTTP ${res.status}`);
  if (res.status === 200) {
    throw new HttpRangeError(
      `${url}: the server ignored the Range header (HTTP 200 instead of 206). ` +
        "Serve the image from a server that supports byte ranges, or load it whole into memory.",
    );
  }
  if (res.status !== 206) throw new HttpRangeError(`${url}: HTTP ${res.status} for bytes ${start}-${end}`);
  let total: number | null = null;
  const header = res.headers.get("Content-Range");
  // Cross-origin, the header is hidden unless the server lists it in Access-Control-Expose-Headers;
  // then the body length is all we can check.
  if (header !== null) {
    const m = CONTENT_RANGE.exec(header.trim());
    if (m === null || Number(m[1]) !== start || Number(m[2]) > end) {
      throw new HttpRangeError(`${url}: asked for bytes ${start}-${end}, server sent "Content-Range: ${header}"`);
    }
    total = m[3] === "*" ? null : Number(m[3]);
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new TransientError(`reading ${url} failed: ${String(err)}`);
  }
  return { body, total, version: res.headers.get("ETag") ?? res.headers.get("Last-Modified") };
}

async function headSize(fetchFn: FetchLike, url: string): Promise<number> {
  const res = await fetchFn(url, { method: "HEAD", headers: {} });
  const length = res.headers.get("Content-Length");
  const size = length === null ? NaN : Number(length);
  if (res.status !== 200 || !Number.isSafeInteger(size) || size < 0) {
    throw new HttpRangeError(`${url}: cannot learn the image size (HEAD gave HTTP ${res.status}, Content-Length ${length})`);
  }
  return size;
}
