// A read-only disk image on a web server, fetched lazily in fixed-size chunks with HTTP Range
// requests, so a large image boots without downloading it whole. Put an OverlayBackend on top
// to make it writable.
//
// Three things keep it safe in a browser tab: every request has a deadline (a stalled server
// fails the guest's read with an I/O error instead of hanging it); the image's validator (ETag
// or Last-Modified) from the first answer is sent as If-Range and checked on every answer, so a
// changed image fails every read from then on rather than mixing bytes of two images; and the
// chunk cache has a byte budget.
//
// In src/browser because it needs the web platform's fetch, AbortController and URL (Node 20 has
// them too: its tests run there), which the DOM-free core does not assume.

import type { BlockBackend } from "../devices/blk/backend.ts";

/** The part of a fetch Response this backend uses (so tests can serve bytes from a buffer). */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal?: AbortSignal },
) => Promise<ResponseLike>;

export interface HttpRangeBackendOptions {
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Bytes per request and cache entry, a multiple of 512. Default 256 KiB. */
  chunkSize?: number;
  /** Image size in bytes when known; otherwise learnt from the first response. */
  size?: number;
  /** Bytes of chunks kept in memory, least recently used dropped first (at least one chunk is
   *  kept). Default 64 MiB: a tab's share, not the image's size. */
  cacheBytes?: number;
  /** Extra attempts after a network error or a 5xx (not after a timeout). Default 2. */
  retries?: number;
  /** Deadline for one request, headers and body, in ms; then the read fails. Default 30 s. */
  timeoutMs?: number;
  /**
   * Send If-Range with the image's validator, so a server whose image changed answers with the
   * whole file (HTTP 200), which is refused, instead of a range of the new image. Default: on
   * unless the page is on another origin than the image (If-Range is not a CORS-safelisted
   * header, so it would cost a preflight the server may refuse); the validator is checked on
   * every answer either way.
   */
  conditional?: boolean;
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The server or the network did not give us the bytes we asked for. */
export class HttpRangeError extends Error {
  override name = "HttpRangeError";
}

/** The image on the server is no longer the one this backend opened. */
export class ImageChangedError extends HttpRangeError {
  override name = "ImageChangedError";
}

export function newHttpRangeCounters() {
  return {
    requests: 0,
    bytesFetched: 0,
    cacheHits: 0,
    cacheMisses: 0,
    retries: 0,
    /** Reads that failed (each chunk once), including those refused after the image changed. */
    failures: 0,
    evictions: 0,
    /** Requests abandoned at their deadline. */
    timeouts: 0,
    /** 1 once the image was found changed on the server; every read fails from then on. */
    imageChanged: 0,
    /** Bytes in the chunk cache now. */
    cachedBytes: 0,
  };
}

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

export class HttpRangeBackend implements BlockBackend {
  readonly url: string;
  readonly size: number;
  readonly readOnly = true;
  readonly chunkSize: number;
  readonly counters = newHttpRangeCounters();
  readonly #fetch: FetchLike;
  readonly #cacheBytes: number;
  readonly #retries: number;
  readonly #timeoutMs: number;
  readonly #conditional: boolean;
  /** The validators of the first answer (learnt on the first fetch when the size was given). */
  #validators: Validators | null;
  /** Set once the image changed: every read fails with it. */
  #failed: ImageChangedError | null = null;
  /** Insertion order is recency order: a hit moves the chunk to the end. */
  readonly #cache = new Map<number, Uint8Array>();
  /** One request per chunk however many reads want it. */
  readonly #loading = new Map<number, Promise<Uint8Array>>();

  private constructor(url: string, size: number, validators: Validators | null, fetchFn: FetchLike, options: HttpRangeBackendOptions) {
    this.url = url;
    this.size = size;
    this.#validators = validators;
    this.chunkSize = options.chunkSize ?? 256 * 1024;
    this.#fetch = fetchFn;
    this.#cacheBytes = Math.max(0, options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.#retries = options.retries ?? 2;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#conditional = options.conditional ?? sameOriginAsPage(url);
  }

  /**
   * The image's version as the server labels it (ETag, else Last-Modified), null if it gives
   * none (or nothing was fetched yet). Good in an overlay's imageId.
   */
  get version(): string | null {
    return this.#validators === null ? null : (this.#validators.etag ?? this.#validators.lastModified);
  }

  /** Why every read fails (the image changed on the server), or null. */
  get error(): Error | null {
    return this.#failed;
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
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // The first chunk both proves the server honours Range and tells the total size.
    const probe = await fetchRange(fetchFn, url, 0, chunkSize - 1, null, timeoutMs);
    let size = probe.total;
    if (size === null) size = await headSize(fetchFn, url, timeoutMs);
    const backend = new HttpRangeBackend(url, size, probe.validators, fetchFn, options);
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
    if (this.#failed !== null) {
      this.counters.failures++;
      return Promise.reject(this.#failed);
    }
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
    if (this.#failed !== null) return;
    const old = this.#cache.get(i);
    if (old !== undefined) this.counters.cachedBytes -= old.length;
    this.#cache.delete(i);
    this.#cache.set(i, bytes);
    this.counters.cachedBytes += bytes.length;
    while (this.counters.cachedBytes > this.#cacheBytes && this.#cache.size > 1) {
      const [oldest, dropped] = this.#cache.entries().next().value as [number, Uint8Array];
      this.#cache.delete(oldest);
      this.counters.cachedBytes -= dropped.length;
      this.counters.evictions++;
    }
  }

  /** The image changed: nothing more is read from it, and the old bytes are let go. */
  #fail(error: ImageChangedError): void {
    if (this.#failed === null) {
      this.#failed = error;
      this.counters.imageChanged = 1;
    }
    this.#cache.clear();
    this.counters.cachedBytes = 0;
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
        if (err instanceof ImageChangedError) this.#fail(err);
        if (err instanceof HttpTimeoutError) this.counters.timeouts++;
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
        if (this.#failed !== null) throw this.#failed;
        const ifRange = this.#conditional ? ifRangeValue(this.#validators) : null;
        const r = await fetchRange(this.#fetch, this.url, start, end, ifRange, this.#timeoutMs);
        // Mixing chunks of two versions of an image would corrupt the disk silently.
        const changed = r.total !== null && r.total !== this.size ? `its size is now ${r.total}` : differs(this.#validators, r.validators);
        if (changed !== null) {
          throw new ImageChangedError(`${this.url} changed on the server since it was opened (${changed}); reload the page to start from the new image`);
        }
        this.#validators ??= r.validators;
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

/** A request that did not finish by its deadline. Not retried: the deadline is the user's. */
export class HttpTimeoutError extends HttpRangeError {
  override name = "HttpTimeoutError";
}

interface Validators {
  readonly etag: string | null;
  readonly lastModified: string | null;
}

/** What tells a changed image apart, or null when `now` agrees with `first` on what both give. */
function differs(first: Validators | null, now: Validators): string | null {
  if (first === null) return null;
  if (first.etag !== null && now.etag !== null && first.etag !== now.etag) return `ETag ${first.etag} became ${now.etag}`;
  if (first.lastModified !== null && now.lastModified !== null && first.lastModified !== now.lastModified) {
    return `Last-Modified ${first.lastModified} became ${now.lastModified}`;
  }
  return null;
}

/** If-Range takes a strong ETag or a date (RFC 9110 13.1.5); a weak ETag cannot be used. */
function ifRangeValue(v: Validators | null): string | null {
  if (v === null) return null;
  if (v.etag !== null && !v.etag.startsWith("W/")) return v.etag;
  return v.lastModified;
}

/** True unless this runs in a page of another origin than `url` (Node: no page, no CORS). */
function sameOriginAsPage(url: string): boolean {
  const here = (globalThis as { location?: { href: string; origin: string } }).location;
  if (here === undefined) return true;
  try {
    return new URL(url, here.href).origin === here.origin;
  } catch {
    return false;
  }
}

/** Runs `work` with an AbortSignal that fires at the deadline; rejects then even if `work` ignores it. */
async function withDeadline<T>(what: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new HttpTimeoutError(`${what}: no answer within ${timeoutMs / 1000} s`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    // Whatever is still in flight (a body we will not read) is dropped.
    controller.abort();
  }
}

function unwrap(err: unknown): unknown {
  return err instanceof TransientError ? new HttpRangeError(err.message) : err;
}

interface RangeAnswer {
  readonly body: Uint8Array;
  /** Total image size from Content-Range; null when the server wrote "*" or hid the header. */
  readonly total: number | null;
  readonly validators: Validators;
}

/**
 * GETs bytes [start, end] (only if the image still matches `ifRange`, when given) and checks
 * that the server really answered with that range, by the deadline.
 */
function fetchRange(fetchFn: FetchLike, url: string, start: number, end: number, ifRange: string | null, timeoutMs: number): Promise<RangeAnswer> {
  return withDeadline(`${url} bytes ${start}-${end}`, timeoutMs, (signal) => fetchRangeOnce(fetchFn, url, start, end, ifRange, signal));
}

async function fetchRangeOnce(fetchFn: FetchLike, url: string, start: number, end: number, ifRange: string | null, signal: AbortSignal): Promise<RangeAnswer> {
  const headers: Record<string, string> = { Range: `bytes=${start}-${end}` };
  if (ifRange !== null) headers["If-Range"] = ifRange;
  let res: ResponseLike;
  try {
    res = await fetchFn(url, { method: "GET", headers, signal });
  } catch (err) {
    if (signal.aborted) throw new HttpTimeoutError(`${url}: aborted at the deadline`);
    throw new TransientError(`fetching ${url} failed: ${String(err)}`);
  }
  if (res.status >= 500) throw new TransientError(`${url}: HTTP ${res.status}`);
  if (res.status === 200 && ifRange !== null) {
    // The body (the whole new image) is not read: the deadline's abort drops it.
    throw new ImageChangedError(
      `${url} changed on the server since it was opened (a range "If-Range: ${ifRange}" got the whole file); ` +
        "reload the page to start from the new image",
    );
  }
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
    if (signal.aborted) throw new HttpTimeoutError(`${url}: aborted at the deadline`);
    throw new TransientError(`reading ${url} failed: ${String(err)}`);
  }
  return { body, total, validators: { etag: res.headers.get("ETag"), lastModified: res.headers.get("Last-Modified") } };
}

async function headSize(fetchFn: FetchLike, url: string, timeoutMs: number): Promise<number> {
  const res = await withDeadline(`HEAD ${url}`, timeoutMs, (signal) => fetchFn(url, { method: "HEAD", headers: {}, signal }));
  const length = res.headers.get("Content-Length");
  const size = length === null ? NaN : Number(length);
  if (res.status !== 200 || !Number.isSafeInteger(size) || size < 0) {
    throw new HttpRangeError(`${url}: cannot learn the image size (HEAD gave HTTP ${res.status}, Content-Length ${length})`);
  }
  return size;
}
