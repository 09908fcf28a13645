// How the page's settings map to a state file's boot options and back: a save records what
// shaped the machine (memory, interrupt mode, network kind, disk), and a restore rebuilds the
// machine from those, not from the page's URL, just as `guest --restore` does. Pure: unit-tested.

import { parseNetworkChoice } from "../machine/network.ts";
import type { SavedBoot } from "../machine/state-file.ts";
import { memoryProblem } from "../platform/machine-limits.ts";
import { pageInterrupts, withInterrupts, type PageSettings } from "./settings.ts";

/** The boot options a state file records for a VM built with `s` (`hasDisk`: a disk is attached). */
export function pageSavedBoot(s: PageSettings, hasDisk: boolean): SavedBoot {
  return {
    memoryMB: s.memoryMB,
    msiMode: pageInterrupts(s),
    append: s.append === "" ? null : s.append,
    net: s.net,
    diskReadOnly: hasDisk ? s.diskReadOnly : null,
  };
}

/**
 * The settings a VM restored from `boot` is built with on a page opened with `page`: the saved
 * memory, interrupt mode, network kind and disk flag; the rest (charts, relay DNS) stay the
 * page's. A file never chooses a WISP relay the page's URL did not name: the VM then gets the
 * page's own network (v86's fetch adapter where the page has none) and `notes` says so. Throws,
 * saying why, for a file this page cannot rebuild.
 */
export function restoredSettings(page: PageSettings, boot: SavedBoot): { settings: PageSettings; notes: string[] } {
  const memory = memoryProblem(boot.memoryMB);
  if (memory !== null) throw new Error(`its memory: ${memory}`);
  const notes: string[] = [];
  let net: PageSettings["net"];
  if (boot.net === "switch") {
    if (page.net !== "switch") throw new Error("saved on the page's virtual switch: open the page with net=switch to restore it");
    net = "switch";
  } else {
    try {
      net = parseNetworkChoice(boot.net);
    } catch (error) {
      throw new Error(`saved with an unknown network: ${(error as Error).message}`);
    }
    if (isRelay(net) && net !== page.net) {
      const instead: PageSettings["net"] = page.net === "none" || page.net === "switch" ? "fetch" : page.net;
      notes.push(
        `The state file was saved with the network relay ${net}, which this page's URL does not name: the VM's network is ${instead} instead. ` +
          `To use that relay, open the page with net=${net}.`,
      );
      net = instead;
    }
  }
  // Files from before the layouts say null for the driver's choice, which was per-queue.
  return {
    settings: {
      ...withInterrupts(page, boot.msiMode ?? "queue"),
      memoryMB: boot.memoryMB,
      append: boot.append ?? "",
      net,
      diskReadOnly: boot.diskReadOnly === true,
    },
    notes,
  };
}

const isRelay = (net: PageSettings["net"]) => net.startsWith("wisp://") || net.startsWith("wisps://");
