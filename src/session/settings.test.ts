import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, PAGE_INTERRUPTS, guestIp, kernelCmdline, pageInterrupts, parseSettings, settingsQuery, vmCount, withInterrupts } from "./settings.ts";

describe("page settings", () => {
  it("defaults to the committed guest with MSI on", () => {
    const { settings, warnings } = parseSettings("");
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(warnings).toEqual([]);
    expect(kernelCmdline(settings)).toBe("console=ttyS0 no_timer_check initcall_blacklist=piix_init");
  });

  it("reads every parameter", () => {
    const { settings } = parseSettings(
      "?kernel=k.bin&initrd=i.gz&disk=none&diskro=1&persist=on&append=quiet%20loglevel%3D3&mem=256&msi=0&net=none&lazy=1&charts=0&channelyield=0&doh=dns.example&state=guest%2Fdemo.state",
    );
    expect(settings).toEqual({
      kernel: "k.bin",
      initrd: "i.gz",
      disk: null,
      diskReadOnly: true,
      diskLazy: true,
      persist: true,
      append: "quiet loglevel=3",
      memoryMB: 256,
      msi: false,
      msiLayout: "v3",
      net: "none",
      doh: "dns.example",
      charts: false,
      channelYield: false,
      state: "guest/demo.state",
    });
    expect(kernelCmdline(settings)).toBe("console=ttyS0 no_timer_check initcall_blacklist=piix_init virtio_mmio.msi=0 quiet loglevel=3");
  });

  it("offers the layout chosen, v3 by default, and tells the driver only of the 2020 one", () => {
    const mode = (search: string) => {
      const { settings, warnings } = parseSettings(search);
      return { interrupts: pageInterrupts(settings), cmdline: kernelCmdline(settings).replace("console=ttyS0 no_timer_check initcall_blacklist=piix_init", "").trim(), msi: settings.msi, warnings };
    };
    expect(mode("")).toEqual({ interrupts: "queue", cmdline: "", msi: true, warnings: [] });
    expect(mode("?msilayout=v3")).toEqual({ interrupts: "queue", cmdline: "", msi: true, warnings: [] });
    expect(mode("?msilayout=2020")).toEqual({ interrupts: "table", cmdline: "virtio_mmio.msi_layout=2020", msi: true, warnings: [] });
    expect(mode("?msi=0")).toEqual({ interrupts: "line", cmdline: "virtio_mmio.msi=0", msi: false, warnings: [] });
    // Links from before the layouts still say what they meant.
    expect(mode("?msimode=table")).toEqual({ interrupts: "table", cmdline: "virtio_mmio.msi_layout=2020", msi: true, warnings: [] });
    expect(mode("?msimode=queue")).toEqual({ interrupts: "queue", cmdline: "", msi: true, warnings: [] });
    expect(mode("?msimode=line")).toEqual({ interrupts: "line", cmdline: "virtio_mmio.msi=0", msi: false, warnings: [] });
  });

  it("refuses an unknown layout, and a layout with MSI off, with a warning", () => {
    const unknown = parseSettings("?msilayout=v2");
    expect(pageInterrupts(unknown.settings)).toBe("queue");
    expect(unknown.warnings).toEqual(["msilayout=v2 ignored: give v3 or 2020"]);
    const contradiction = parseSettings("?msi=0&msilayout=2020");
    expect(pageInterrupts(contradiction.settings)).toBe("line");
    expect(kernelCmdline(contradiction.settings)).toContain("virtio_mmio.msi=0");
    expect(kernelCmdline(contradiction.settings)).not.toContain("msi_layout");
    expect(contradiction.warnings).toEqual(["msilayout=2020 ignored: msi=0 turns MSI off"]);
    expect(parseSettings("?msimode=vectors").warnings).toEqual(["msimode=vectors ignored: give msilayout=v3 or 2020, or msi=0"]);
  });

  it("writes each interrupt choice as a link that reads back to it, the line as msi=0", () => {
    const queries = PAGE_INTERRUPTS.map((c) => settingsQuery(withInterrupts(DEFAULT_SETTINGS, c)));
    expect(queries).toEqual(["", "?msilayout=2020", "?msi=0"]);
    for (const c of PAGE_INTERRUPTS) {
      const s = withInterrupts({ ...DEFAULT_SETTINGS, memoryMB: 256 }, c);
      expect(parseSettings(settingsQuery(s)).settings).toEqual(s);
      expect(pageInterrupts(s)).toBe(c);
    }
    // Turning MSI off forgets the layout: turning it on again gives the default.
    const off = withInterrupts(withInterrupts(DEFAULT_SETTINGS, "table"), "line");
    expect(off.msiLayout).toBe("v3");
  });

  it("refuses an unknown network backend, with a warning", () => {
    const { settings, warnings } = parseSettings("?net=carrier-pigeon");
    expect(settings.net).toBe("fetch");
    expect(warnings[0]).toMatch(/net=carrier-pigeon ignored/);
  });

  it("refuses a memory size the initrd cannot fit in, with a warning", () => {
    const { settings, warnings } = parseSettings("?mem=16");
    expect(settings.memoryMB).toBe(128);
    expect(warnings).toEqual(["mem=16 ignored: 16 MiB is outside the supported memory range of 80 to 2047 MiB (v86 does not build 2048 MiB or more as asked); the VM runs with 128 MiB"]);
    expect(parseSettings("?mem=999999").warnings[0]).toMatch(/^mem=999999 ignored: 999999 MiB is outside the supported memory range of 80 to 2047 MiB/);
    expect(parseSettings("?mem=2048").warnings[0]).toMatch(/^mem=2048 ignored/);
    expect(parseSettings("?mem=1.5e3").warnings[0]).toMatch(/^mem=1.5e3 ignored: "1.5e3" is not a whole number of MiB/);
    expect(parseSettings("?mem=2047")).toMatchObject({ settings: { memoryMB: 2047 }, warnings: [] });
  });

  it("writes a query that reads back to the same settings", () => {
    const s = { ...DEFAULT_SETTINGS, msi: false, memoryMB: 192, append: "a=b c", disk: "my.img", persist: true, net: "wisps://relay.example/" as const, charts: false, channelYield: false, doh: "dns.example", state: "saved/vm.state" };
    expect(parseSettings(settingsQuery(s)).settings).toEqual(s);
    expect(settingsQuery(DEFAULT_SETTINGS)).toBe("");
  });

  it("puts two VMs on the switch, each with its own address on the command line", () => {
    const { settings } = parseSettings("?net=switch");
    expect(settings.net).toBe("switch");
    expect(vmCount(settings)).toBe(2);
    expect([guestIp(settings, 0), guestIp(settings, 1)]).toEqual(["192.168.87.1/24", "192.168.87.2/24"]);
    expect(kernelCmdline(settings, guestIp(settings, 1))).toBe("console=ttyS0 no_timer_check initcall_blacklist=piix_init guest.ip=192.168.87.2/24");
    expect(settingsQuery(settings)).toBe("?net=switch");
  });

  it("gives a random host part between tabs, DHCP with fetch", () => {
    const inbrowser = { ...DEFAULT_SETTINGS, net: "inbrowser" as const };
    expect(guestIp(inbrowser, 0, () => 0)).toBe("192.168.88.2/24");
    expect(guestIp(inbrowser, 0, () => 0.9999)).toBe("192.168.88.254/24");
    expect(guestIp(DEFAULT_SETTINGS, 0)).toBeNull();
    expect(vmCount(DEFAULT_SETTINGS)).toBe(1);
  });
});
