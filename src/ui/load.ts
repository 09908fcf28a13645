// Fetches the guest's images from the page's own origin with byte-level progress, and turns
// failures into messages a person can act on.

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

export async function fetchImage(
  name: string,
  url: string,
  onProgress: (p: LoadProgress) => void,
): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ImageLoadError(url, `the request failed (${(error as Error).message})`);
  }
  if (!response.ok) throw new ImageLoadError(url, `the server answered ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get("content-length") ?? 0);
  if (!response.body) {
    const buffer = await response.arrayBuffer();
    onProgress({ name, loaded: buffer.byteLength, total: buffer.byteLength });
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
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
  const buffers = await Promise.all(entries.map(([name, url]) => fetchImage(name, url, report)));
  return Object.fromEntries(entries.map(([name], i) => [name, buffers[i]])) as Record<K, ArrayBuffer>;
}
