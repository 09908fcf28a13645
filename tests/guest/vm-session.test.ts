// The page's VM session (src/session/vm-session.ts) with the real guest under Node, no DOM: it
// boots to the shell, reports the mode the drivers took, pauses (the guest and its clock stand
// still) and resumes, keeps its state in a (fake) IndexedDB, restarts in place over the same
// disk, and a later visit's session resumes the kept state instead of its fresh boot.
import { readFileSync } from "node:fs";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { IdbStateStore } from "../../src/browser/idb-state-store.ts";
import { DEFAULT_GUEST, v86WasmPath } from "../../src/node/paths.ts";
import { parseSettings } from "../../src/session/settings.ts";
import { snapshotVm } from "../../src/session/snapshot.ts";
import { VmSession, type VmSessionView } from "../../src/session/vm-session.ts";

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const images = { bios: file(DEFAULT_GUEST.bios), vgaBios: file(DEFAULT_GUEST.vgaBios), kernel: file(DEFAULT_GUEST.kernel), initrd: file(DEFAULT_GUEST.initrd) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A pane that only remembers: the console text, the states, the last mode and messages. */
class Pane implements VmSessionView {
  out = "";
  states: string[] = [];
  modes: string[] = [];
  messages: string[] = [];
  problems: string[] = [];
  offers: string[] = [];
  state(s: string): void {
    this.states.push(s);
  }
  building(): void {}
  replacing(): void {
    this.out = "";
  }
  started(): void {}
  ended(): void {}
  serial(chunk: string): void {
    this.out += chunk;
  }
  problem(p: { title: string; text: string }): void {
    this.problems.push(`${p.title}: ${p.text}`);
  }
  notice(): void {}
  stateMessage(text: string | null): void {
    if (text !== null) this.messages.push(text);
  }
  keptOffer(when: string): void {
    this.offers.push(when);
  }
  mode(_text: string, mode: string): void {
    this.modes.push(mode);
  }
  saving(): void {}
}

describe("VmSession with the real guest", () => {
  it("boots, pauses, keeps its state, restarts on its disk; the next visit resumes the kept state", async () => {
    const factory = new IDBFactory();
    const settings = parseSettings("?net=none").settings;
    const disk = { kind: "url" as const, url: "guest/disk.img", image: file(DEFAULT_GUEST.disk) };
    const make = () =>
      new VmSession({ index: 0, settings, guestIp: null, network: () => null, wasmPath: v86WasmPath(), keptStore: () => IdbStateStore.open("states", factory) });
    const run = async (s: VmSession, pane: Pane, command: string, marker: string): Promise<void> => {
      const from = pane.out.length;
      // Quoted apart, so the shell's echo of the command line does not read as its output.
      s.sendSerial(`${command}; echo ${marker.slice(0, 2)}''${marker.slice(2)}\n`);
      await until(marker, () => pane.out.indexOf(`\n${marker}\r\n`, from) >= 0);
    };

    const s = make();
    const pane = new Pane();
    s.attach(pane);
    try {
      await s.start(images, disk);
      await until("the prompt", () => s.state === "running");
      expect(pane.states.slice(0, 3)).toEqual(["booting", "booting", "running"]);
      await until("the drivers' mode", () => pane.modes.length > 0);
      expect(pane.modes.at(-1)).toBe("queue");
      const snap = snapshotVm(s) as { state: string; devices: { name: string; msiMode: string }[] };
      expect(snap.state).toBe("running");
      expect(snap.devices.map((d) => [d.name, d.msiMode])).toEqual([["blk0", "queue"]]);
      await run(s, pane, "echo kept > /mnt/note; sync", "WROTE");

      // Paused: the emulator stops and the clock stands still.
      await s.pause();
      expect(s.state).toBe("paused");
      expect(s.machine!.running).toBe(false);
      const ran = s.ranMs;
      const instructions = s.machine!.instructions;
      await sleep(300); // the host's time passes; the guest's must not
      expect(s.ranMs).toBe(ran);
      expect(s.machine!.instructions).toBe(instructions);
      await s.resume();
      expect(s.state).toBe("running");
      expect(s.machine!.running).toBe(true);

      await s.keepState();
      expect(pane.messages.at(-1)).toMatch(/^Kept the VM's state in this browser/);
      expect(s.state).toBe("running");
      expect(s.machine!.running).toBe(true);

      // Restart in place: a new machine over the same disk, with what reached it.
      const first = s.machine;
      await s.restart();
      expect(s.machine).not.toBe(first);
      await until("the prompt after the restart", () => s.state === "running");
      await run(s, pane, "cat /mnt/note", "READ");
      expect(pane.out).toMatch(/\r\nkept\r\n/);
      expect(pane.problems).toEqual([]);
    } finally {
      await s.machine?.destroy();
    }

    // The next visit: a fresh boot starts, the kept state is offered, resuming replaces it.
    const next = make();
    const nextPane = new Pane();
    next.attach(nextPane);
    try {
      await next.start(images, disk);
      expect(nextPane.offers).toHaveLength(1);
      const started = performance.now();
      await next.resumeKept();
      await until("the restored prompt", () => next.state === "running", 20_000);
      console.log(`resumed the kept state in ${((performance.now() - started) / 1000).toFixed(2)} s`);
      // The kept machine is the one paused and resumed above: its shell, its disk (in memory).
      await run(next, nextPane, "cat /mnt/note", "AGAIN");
      expect(nextPane.out).toMatch(/\r\nkept\r\n/);
      expect(nextPane.problems).toEqual([]);
      await next.discardKept();
    } finally {
      await next.machine?.destroy();
    }
  });
});
