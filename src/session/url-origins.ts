// Which of the page's file parameters (state=, disk=, kernel=, initrd=) name another origin
// than the page's own. Those files become the guest's kernel, disk or whole saved machine, so
// the page loads them only after it has shown each by name and the user agreed (the prompt is
// src/ui/page-notices.ts; README's parameter table). Pure: unit-tested.

import type { PageSettings } from "./settings.ts";

export interface ForeignUrl {
  /** The URL parameter that names it. */
  readonly param: "state" | "disk" | "kernel" | "initrd";
  readonly url: string;
  /** Where it would be loaded from: an origin such as https://files.example, or the URL's scheme for one with no origin (data:, blob:). */
  readonly origin: string;
}

/** The files `s` names on an origin other than that of the page at `pageHref`, in parameter order. */
export function foreignUrls(s: PageSettings, pageHref: string): ForeignUrl[] {
  const page = new URL(pageHref);
  const named: Array<[ForeignUrl["param"], string | null]> = [["state", s.state], ["disk", s.disk], ["kernel", s.kernel], ["initrd", s.initrd]];
  const out: ForeignUrl[] = [];
  for (const [param, url] of named) {
    if (url === null) continue;
    let resolved: URL;
    try {
      resolved = new URL(url, page);
    } catch {
      continue; // not a URL at all: its fetch fails with the usual load error
    }
    if (resolved.origin === page.origin && resolved.origin !== "null") continue;
    out.push({ param, url, origin: resolved.origin !== "null" ? resolved.origin : `${resolved.protocol} URL` });
  }
  return out;
}
