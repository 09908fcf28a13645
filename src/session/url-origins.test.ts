import { describe, expect, it } from "vitest";
import { parseSettings } from "./settings.ts";
import { foreignUrls } from "./url-origins.ts";

const PAGE = "https://demo.example/v86/index.html?x=1";

describe("files named on another origin", () => {
  it("lets the page's own files through, relative or absolute", () => {
    expect(foreignUrls(parseSettings("").settings, PAGE)).toEqual([]);
    expect(foreignUrls(parseSettings("?state=saved/vm.state&disk=/disks/a.img&kernel=https://demo.example/k").settings, PAGE)).toEqual([]);
  });

  it("names each file on another origin, with its parameter and origin", () => {
    const s = parseSettings("?state=https://files.example/vm.state&kernel=//cdn.example/bzImage&initrd=http://demo.example/i.img&disk=data:,xyz").settings;
    expect(foreignUrls(s, PAGE)).toEqual([
      { param: "state", url: "https://files.example/vm.state", origin: "https://files.example" },
      { param: "disk", url: "data:,xyz", origin: "data: URL" },
      { param: "kernel", url: "//cdn.example/bzImage", origin: "https://cdn.example" },
      // Another scheme is another origin.
      { param: "initrd", url: "http://demo.example/i.img", origin: "http://demo.example" },
    ]);
  });
});
