// What a VM's session decides before any machine runs, with no DOM: a state file it cannot
// rebuild, an image it cannot use, or actions that need a machine. Booting one is the guest
// tests' job (tests/guest/vm-session.test.ts); here the images are never reached.
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { IdbStateStore } from "../browser/idb-state-store.ts";
import { fakeV86State } from "../testing/fake-v86-state.ts";
import { encodeSavedMachine } from "../machine/state-file.ts";
import { pageSavedBoot } from "./saved-state.ts";
import { parseSettings, type PageSettings } from "./settings.ts";
import { VmSession, type VmSessionView } from "./vm-session.ts";

/** The pane, as what the session told it, in order. */
function recorder(): { view: VmSessionView; told: string[]; problems: { title: string; text: string }[]; messages: (string | null)[] } {
  const told: string[] = [];
  const problems: { title: string; text: string }[] = [];
  const messages: (string | null)[] = [];
  const view: VmSessionView = {
    state: (s) => told.push(`state ${s}`),
    building: (t) => told.push(`building ${t}`),
    replacing: () => told.push("replacing"),
    started: () => told.push("started"),
    ended: () => told.push("ended"),
    serial: () => told.push("serial"),
    problem: (p) => {
      told.push("problem");
      problems.push({ title: p.title, text: p.text });
    },
    notice: () => told.push("notice"),
    stateMessage: (t) => {
      told.push("stateMessage");
      messages.push(t);
    },
    keptOffer: () => told.push("keptOffer"),
    mode: () => told.push("mode"),
    saving: (b) => told.push(`saving ${b}`),
  };
  return { view, told, problems, messages };
}

// Never booted from: each test fails before the emulator is built.
const images = { bios: new ArrayBuffer(1), vgaBios: new ArrayBuffer(1), kernel: new ArrayBuffer(1) };

function session(settings: PageSettings = parseSettings("").settings, keptStore?: () => Promise<IdbStateStore>): VmSession {
  return new VmSession({ index: 0, settings, guestIp: null, network: () => null, wasmPath: "unused.wasm", ...(keptStore ? { keptStore } : {}) });
}

function stateFile(page: PageSettings): Uint8Array {
  return encodeSavedMachine({
    boot: pageSavedBoot(page, false),
    devices: { kind: "virtio-devices", version: 1, devices: [] },
    v86State: fakeV86State(64),
    disk: null,
  });
}

describe("VmSession without a machine", () => {
  it("a state saved on the page's switch, started on a one-VM page, fails the VM saying to open net=switch", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    await s.start(images, null, { bytes: stateFile(parseSettings("?net=switch").settings), label: "vm.state" });
    expect(r.told).toEqual(["state error", "problem"]);
    expect(r.problems[0]!.title).toBe("vm.state cannot be restored");
    expect(r.problems[0]!.text).toMatch(/net=switch/);
    expect(s.state).toBe("error");
    expect(s.machine).toBeUndefined();
    // The images are there: the error panel can offer Restart.
    expect(s.canRestart).toBe(true);
  });

  it("refuses a damaged file with the reason, and does nothing before the images are there", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    const file = stateFile(parseSettings("").settings);
    file[file.length - 1]! ^= 1;
    await s.restoreState(file, "early.state");
    expect(r.told).toEqual([]);
    expect(s.canRestart).toBe(false);
    await s.start(images, null, { bytes: file, label: "vm.state" });
    expect(r.problems).toEqual([{ title: "vm.state cannot be restored", text: expect.stringMatching(/checksum/) }]);
  });

  it("a state file the user picks over the size limit is refused without being read", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    await s.start(images, null, { bytes: stateFile(parseSettings("?net=switch").settings), label: "vm.state" });
    const huge = { size: 4 * 2 ** 30, arrayBuffer: () => Promise.reject(new Error("read")) } as unknown as Blob;
    await s.restoreStateFile(huge, "huge.state");
    expect(r.problems[1]).toEqual({ title: "huge.state cannot be restored", text: expect.stringMatching(/^not a usable saved machine: the file is 4096 MiB, over the limit of 3\d{3}(\.\d)? MiB for a state file$/) });
  });

  it("an image the user uploads over the disk limit is refused, naming it", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    await s.uploadDisk("big.img", { byteLength: 2 ** 31 } as ArrayBuffer);
    expect(r.problems[0]).toEqual({ title: "big.img cannot be used as a disk", text: "a disk of 2048 MiB is over the limit of 1024 MiB for a disk held in memory" });
  });

  it("an empty image the user uploads fails the VM with its name, and no machine is built", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    await s.uploadDisk("empty.img", new ArrayBuffer(0));
    expect(r.told).toEqual(["state error", "problem"]);
    expect(r.problems[0]).toEqual({ title: "empty.img cannot be used as a disk", text: "empty.img is empty" });
    expect(s.disk).toBeNull();
  });

  it("a disk that cannot be opened fails the VM before it boots", async () => {
    const s = session();
    const r = recorder();
    s.attach(r.view);
    await s.start(images, { kind: "upload", name: "none.img", image: new ArrayBuffer(0) });
    expect(r.told).toEqual(["state error", "problem"]);
    expect(r.problems[0]!.title).toBe("The disk could not be opened");
  });

  it("pause, resume, link, save, keep and the kept-state offer do nothing without a machine", async () => {
    const factory = new IDBFactory();
    const s = session(undefined, () => IdbStateStore.open("states", factory));
    const r = recorder();
    s.attach(r.view);
    await s.pause();
    await s.togglePause();
    await s.resume();
    expect(s.toggleLink()).toBe(false);
    expect(await s.takeState()).toBeNull();
    await s.keepState();
    await s.pageHidden();
    await s.resumeKept();
    await s.discardKept();
    expect(r.told).toEqual([]);
    expect(s.state).toBe("loading");
    expect(s.saving).toBe(false);
    // Nothing was kept for the next visit either.
    expect(await (await IdbStateStore.open("states", factory)).get("vm1")).toBeNull();
  });

  it("says what window.v86msi shows of a VM before it has a machine", () => {
    const s = new VmSession({ index: 1, settings: parseSettings("?net=switch").settings, guestIp: "192.168.87.2/24", network: () => null, wasmPath: "x" });
    expect({ name: s.name, machine: s.machine, devices: s.devices, disk: s.disk, state: s.state, guestIp: s.guestIp, network: s.network }).toEqual({
      name: "vm2",
      machine: undefined,
      devices: [],
      disk: null,
      state: "loading",
      guestIp: "192.168.87.2/24",
      network: null,
    });
  });
});
