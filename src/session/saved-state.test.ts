import { describe, expect, it } from "vitest";
import { pageSavedBoot, restoredSettings } from "./saved-state.ts";
import { DEFAULT_SETTINGS, parseSettings } from "./settings.ts";

describe("page settings in a state file", () => {
  it("records what shaped the machine and rebuilds it from the file, not from the page", () => {
    const saved = parseSettings("?mem=256&msimode=table&net=none&diskro=1&append=quiet").settings;
    const boot = pageSavedBoot(saved, true);
    expect(boot).toEqual({ memoryMB: 256, msiMode: "table", append: "quiet", net: "none", diskReadOnly: true });
    const back = restoredSettings({ ...DEFAULT_SETTINGS, charts: false }, boot);
    expect(back).toEqual({ ...saved, charts: false });
    // The driver's choice and the line round-trip too; no disk records null.
    expect(restoredSettings(DEFAULT_SETTINGS, pageSavedBoot(DEFAULT_SETTINGS, false))).toEqual(DEFAULT_SETTINGS);
    const line = parseSettings("?msi=0").settings;
    expect(pageSavedBoot(line, false)).toMatchObject({ msiMode: "line", diskReadOnly: null });
    expect(restoredSettings(DEFAULT_SETTINGS, pageSavedBoot(line, true))).toMatchObject({ msi: false, msiMode: "auto" });
  });

  it("reads a file the guest command wrote", () => {
    const cli = { memoryMB: 128, msiMode: "queue" as const, append: null, net: "fetch", diskReadOnly: false };
    expect(restoredSettings(DEFAULT_SETTINGS, cli)).toEqual({ ...DEFAULT_SETTINGS, msiMode: "queue" });
  });

  it("refuses what the page cannot rebuild, saying why", () => {
    const boot = pageSavedBoot(DEFAULT_SETTINGS, true);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, net: "switch" })).toThrow(/net=switch/);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, net: "carrier-pigeon" })).toThrow(/unknown network/);
    expect(() => restoredSettings(DEFAULT_SETTINGS, { ...boot, memoryMB: 4096 })).toThrow(/4096 MiB/);
    expect(restoredSettings({ ...DEFAULT_SETTINGS, net: "switch" }, { ...boot, net: "switch" }).net).toBe("switch");
  });
});
