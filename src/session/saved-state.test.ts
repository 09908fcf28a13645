import { describe, expect, it } from "vitest";
import { pageSavedBoot, restoredSettings } from "./saved-state.ts";
import { DEFAULT_SETTINGS, parseSettings } from "./settings.ts";

describe("page settings in a state file", () => {
  it("records what shaped the machine and rebuilds it from the file, not from the page", () => {
    const saved = parseSettings("?mem=256&msilayout=2020&net=none&diskro=1&append=quiet").settings;
    const boot = pageSavedBoot(saved, true);
    expect(boot).toEqual({ memoryMB: 256, msiMode: "table", append: "quiet", net: "none", diskReadOnly: true });
    const back = restoredSettings({ ...DEFAULT_SETTINGS, charts: false }, boot).settings;
    expect(back).toEqual({ ...saved, charts: false });
    // The default (v3, per-queue) and the line round-trip too; no disk records null.
    expect(restoredSettings(DEFAULT_SETTINGS, pageSavedBoot(DEFAULT_SETTINGS, false))).toEqual({ settings: DEFAULT_SETTINGS, notes: [] });
    const line = parseSettings("?msi=0").settings;
    expect(pageSavedBoot(line, false)).toMatchObject({ msiMode: "line", diskReadOnly: null });
    expect(restoredSettings(DEFAULT_SETTINGS, pageSavedBoot(line, true)).settings).toMatchObject({ msi: false, msiLayout: "v3" });
  });

  it("reads a file the guest command wrote", () => {
    const cli = { memoryMB: 128, msiMode: "queue" as const, append: null, net: "fetch", diskReadOnly: false };
    expect(restoredSettings(DEFAULT_SETTINGS, cli).settings).toEqual(DEFAULT_SETTINGS);
    // Files from before the layouts recorded the driver's own choice as null: per-queue then.
    expect(restoredSettings(DEFAULT_SETTINGS, { ...cli, msiMode: null }).settings).toEqual(DEFAULT_SETTINGS);
    expect(restoredSettings(DEFAULT_SETTINGS, { ...cli, msiMode: "table" }).settings).toEqual({ ...DEFAULT_SETTINGS, msiLayout: "2020" });
  });

  it("refuses what the page cannot rebuild, saying why", () => {
    const boot = pageSavedBoot(DEFAULT_SETTINGS, true);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, net: "switch" })).toThrow(/net=switch/);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, net: "carrier-pigeon" })).toThrow(/unknown network/);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, memoryMB: 4096 })).toThrow("its memory: 4096 MiB is outside the supported memory range of 80 to 2047 MiB");
    expect(restoredSettings({ ...DEFAULT_SETTINGS, net: "switch" }, { ...boot, net: "switch" }).settings.net).toBe("switch");
  });

  it("never lets a file choose a relay the page's URL did not name, and says so", () => {
    const boot = { ...pageSavedBoot(DEFAULT_SETTINGS, true), net: "wisps://relay.evil.example/" };
    const r = restoredSettings(DEFAULT_SETTINGS, boot);
    expect(r.settings.net).toBe("fetch");
    expect(r.notes).toEqual([
      "The state file was saved with the network relay wisps://relay.evil.example/, which this page's URL does not name: the VM's network is fetch instead. " +
        "To use that relay, open the page with net=wisps://relay.evil.example/.",
    ]);
    expect(restoredSettings({ ...DEFAULT_SETTINGS, net: "none" }, boot).settings.net).toBe("fetch");
    expect(restoredSettings({ ...DEFAULT_SETTINGS, net: "inbrowser" }, boot).settings.net).toBe("inbrowser");
    // The relay the URL names is used.
    const named = parseSettings("?net=wisps://relay.evil.example/").settings;
    expect(restoredSettings(named, boot)).toEqual({ settings: { ...named, net: "wisps://relay.evil.example/" }, notes: [] });
  });
});
