// Fetches the guest's images with byte-level progress, each within its size limit, and turns
// failures into messages a person can act on. (Files of another origin are fetched only after
// the user agreed: src/ui/page-notices.ts.)

import { mib } from "../platform/machine-limits.ts";
import { concatBytes } from "../virtio/bytes.ts";

export interface LoadProgress {
  name: string;
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
}

export class ImageLoadError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`Could not load ${url}: ${reason}`);
    this.name = "ImageLoadError";
  }
}

/**
 * Fetches one file, refusing it (ImageLoadError) once it passes `maxBytes`: at once when the
 * server declares a larger Content-Length, else as soon as the bytes counted pass it.
 */
export async function fetchImage(
  name: string,
  url: string,
  onProgress: (p: LoadProgress) => void,
  maxBytes = Infinity,
): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ImageLoadError(url, `the request failed (${(error as Error).message})`);
  }
  if (!response.ok) throw new ImageLoadError(url, `the server answered ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get("content-length") ?? 0);
  const tooBig = (n: number) => new ImageLoadError(url, `it is ${mib(n)} or more, over the limit of ${mib(maxBytes)} for the ${name} (docs/save-restore.md, "Limits")`);
  if (total > maxBytes) {
    await response.body?.cancel();
    throw tooBig(total);
  }
  if (!response.body) {
    const buffer = await response.arrayBuffer();
    if (buffer.byteLength > maxBytes) throw tooBig(buffer.byteLength);
    onProgress({ name, loaded: buffer.byteLength, total: buffer.byteLength });
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    loaded += value.byteLength;
    if (loaded > maxBytes) {
      await reader.cancel();
      throw tooBig(loaded);
    }
    chunks.push(value);
    onProgress({ name, loaded, total });
  }
  const bytes = concatBytes(...chunks);
  if (loaded === 0) throw new ImageLoadError(url, "the file is empty");
  return bytes.buffer;
}

/** Loads several images at once, reporting the combined progress. */
export async function fetchImages<K extends string>(
  urls: Record<K, string>,
  onProgress: (loaded: number, total: number, current: string) => void,
  maxBytes: (name: K) => number = () => Infinity,
): Promise<Record<K, ArrayBuffer>> {
  const state = new Map<string, LoadProgress>();
  const report = (p: LoadProgress): void => {
    state.set(p.name, p);
    let loaded = 0;
    let total = 0;
    for (const s of state.values()) {
      loaded += s.loaded;
      total += s.total || s.loaded;
    }
    onProgress(loaded, total, p.name);
  };
  const entries = Object.entries(urls) as Array<[K, string]>;
  const buffers = await Promise.all(entries.map(([name, url]) => fetchImage(name, url, report, maxBytes(name))));
  return Object.fromEntries(entries.map(([name], i) => [name, buffers[i]])) as Record<K, ArrayBuffer>;
}
