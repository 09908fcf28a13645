// Small helpers for the panels' markup: escaping, hex, and an update that leaves the DOM alone
// when nothing changed (so a sample a few times a second does not rebuild idle tables, and an
// element someone is reading or has focused stays put).

export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

export const hex = (n: number, width = 8): string => `0x${(n >>> 0).toString(16).padStart(width, "0")}`;

const shown = new WeakMap<Element, string>();

export function setHtml(el: Element, html: string): void {
  if (shown.get(el) === html) return;
  shown.set(el, html);
  el.innerHTML = html;
}

export function fmtBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} KB`;
}

export function fmtRate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.?0+$/, "") || "0";
}
