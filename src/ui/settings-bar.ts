// The settings bar, the page-wide controls above the VMs: each one writes the URL (so the
// setting can be shared as a link) and loads the page with it, since MSI, the network adapter,
// persistence and the number of VMs are all fixed when a machine is built.

import { parseNetworkChoice } from "../machine/network.ts";
import { guestIp, pageInterrupts, settingsQuery, withInterrupts, type PageInterrupts, type PageSettings } from "../session/settings.ts";

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

function go(s: PageSettings): void {
  // Not `location.search = ""`, which leaves a bare "?" on the default settings' link. A new
  // setting means a fresh boot: a saved state would bring back the machine it was saved from.
  location.assign(`${location.pathname}${settingsQuery({ ...s, state: null })}`);
}

export function setUpSettingsBar(s: PageSettings): void {
  // Wide screens show the settings in the bar; narrow ones fold them away under "Settings" so
  // the terminal starts near the top.
  const settings = $<HTMLDetailsElement>("settings");
  const wide = matchMedia("(min-width: 801px)");
  settings.open = wide.matches;
  wide.addEventListener("change", () => (settings.open = wide.matches));

  const msi = $<HTMLButtonElement>("msi-toggle");
  msi.textContent = s.msi ? "Restart with MSI off" : "Restart with MSI on";
  msi.addEventListener("click", () => go(withInterrupts(s, s.msi ? "line" : "queue")));

  // The interrupt mode: a choice, then a restart (a select that reloaded the page as soon as
  // it changed would restart it while someone moves through the options with the arrow keys).
  const irqForm = $<HTMLFormElement>("irq-form");
  const irqChoice = $<HTMLSelectElement>("irq-choice");
  const irqApply = $<HTMLButtonElement>("irq-apply");
  irqChoice.value = pageInterrupts(s);
  const showApply = (): void => {
    irqApply.disabled = irqChoice.value === pageInterrupts(s);
  };
  showApply();
  irqChoice.addEventListener("change", showApply);
  irqForm.addEventListener("submit", (e) => {
    e.preventDefault();
    go(withInterrupts(s, irqChoice.value as PageInterrupts));
  });

  const form = $<HTMLFormElement>("net-form");
  const choice = $<HTMLSelectElement>("net-choice");
  const relay = $<HTMLInputElement>("net-relay");
  const isRelay = s.net.startsWith("wisp");
  choice.value = isRelay ? "wisp" : s.net;
  relay.value = isRelay ? s.net : "";
  const showRelay = (): void => {
    relay.hidden = choice.value !== "wisp";
    relay.required = !relay.hidden;
  };
  showRelay();
  choice.addEventListener("change", showRelay);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (choice.value !== "wisp") {
      go({ ...s, net: choice.value as PageSettings["net"] });
      return;
    }
    try {
      // The relay is the one thing the page reaches outside its origin, and only when asked.
      go({ ...s, net: parseNetworkChoice(relay.value.trim()) });
    } catch {
      relay.setCustomValidity("Give a wisp:// or wisps:// relay URL.");
      relay.reportValidity();
    }
  });
  relay.addEventListener("input", () => relay.setCustomValidity(""));

  const persist = $<HTMLInputElement>("persist-toggle");
  persist.checked = s.persist;
  persist.disabled = !s.disk;
  persist.addEventListener("change", () => go({ ...s, persist: persist.checked }));

  const second = $<HTMLButtonElement>("second-vm");
  second.textContent = s.net === "switch" ? "Back to one VM" : "Add a second VM";
  // The addresses the VMs get on the switch (guestIp), not a copy of them.
  const [first, other] = [0, 1].map((i) => guestIp({ ...s, net: "switch" }, i)!.replace(/\/\d+$/, ""));
  second.title = `Two VMs side by side on a virtual switch, ${first} and .${other!.split(".").at(-1)}`;
  second.addEventListener("click", () => go({ ...s, net: s.net === "switch" ? "fetch" : "switch" }));

  $<HTMLAnchorElement>("share").href = `${location.pathname}${settingsQuery(s)}`;
}
