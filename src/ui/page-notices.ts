// The page's own notices above the VMs: the URL settings it did not take (with why, and what it
// runs instead), and the prompt before it loads a file from another origin
// (src/session/url-origins.ts). Tests read and click them by their test ids and button names.

import type { ForeignUrl } from "../session/url-origins.ts";

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el;
}

/** Shows each warning of parseSettings (a setting out of range, unknown or malformed). */
export function showSettingWarnings(warnings: readonly string[]): void {
  if (warnings.length === 0) return;
  const box = $("page-warnings");
  const list = box.querySelector('[data-part="list"]')!;
  list.replaceChildren(...warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })));
  box.hidden = false;
}

/** Names each file and its origin, and resolves with the user's answer (true: load them). */
export function askForeignOrigins(files: readonly ForeignUrl[]): Promise<boolean> {
  const box = $("origin-prompt");
  const list = box.querySelector('[data-part="list"]')!;
  list.replaceChildren(
    ...files.map((f) => {
      const li = document.createElement("li");
      const url = Object.assign(document.createElement("code"), { textContent: f.url });
      const origin = Object.assign(document.createElement("strong"), { textContent: f.origin });
      li.append(`${f.param}: `, url, " from ", origin);
      return li;
    }),
  );
  box.hidden = false;
  return new Promise((resolve) => {
    const answer = (yes: boolean) => () => {
      box.hidden = true;
      resolve(yes);
    };
    box.querySelector<HTMLButtonElement>('[data-control="allow"]')!.addEventListener("click", answer(true), { once: true });
    box.querySelector<HTMLButtonElement>('[data-control="deny"]')!.addEventListener("click", answer(false), { once: true });
    box.querySelector<HTMLButtonElement>('[data-control="allow"]')!.focus();
  });
}
