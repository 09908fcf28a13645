import { describe, expect, it } from "vitest";
import { CTRL_ACK, CTRL_CLASS, CTRL_MAC, CTRL_RX } from "./constants.ts";
import { formatMac, parseMac, randomMac, toMac } from "./mac.ts";
import { RxFilter, executeCtrl, parseMacTables } from "./rx-filter.ts";
import { concat, ethFrame } from "../../testing/net-frames.ts";

const ME = "52:54:00:12:34:56";
const ALL = { ctrlRx: true, ctrlMacAddr: true };
const to = (dst: string) => ethFrame(dst, "02:00:00:00:00:01");

function table(list: string[]): Uint8Array {
  const b = new Uint8Array(4 + 6 * list.length);
  new DataView(b.buffer).setUint32(0, list.length, true);
  list.forEach((m, i) => b.set(parseMac(m), 4 + 6 * i));
  return b;
}

describe("mac helpers", () => {
  it("parse, format, classify", () => {
    expect(formatMac(parseMac("52:54:0:1:2:3"))).toBe("52:54:00:01:02:03");
    expect(formatMac(parseMac("AA-BB-CC-DD-EE-FF"))).toBe("aa:bb:cc:dd:ee:ff");
    expect(() => parseMac("52:54:00:01:02")).toThrow(RangeError);
    expect(() => parseMac("52:54:00:01:02:zz")).toThrow(RangeError);
    expect(() => toMac("33:33:00:00:00:01")).toThrow(RangeError);
    const r = randomMac();
    expect(r[0]! & 3).toBe(2); // locally administered, unicast
  });
});

describe("RxFilter", () => {
  it("starts promiscuous; then: own address, broadcast, tables, allmulti", () => {
    const f = new RxFilter(parseMac(ME), 2);
    expect(f.accepts(to("02:99:99:99:99:99"))).toBe(true);
    f.promisc = false;
    expect(f.accepts(to("02:99:99:99:99:99"))).toBe(false);
    expect(f.accepts(to(ME))).toBe(true);
    expect(f.accepts(to("ff:ff:ff:ff:ff:ff"))).toBe(true);
    expect(f.accepts(to("01:00:5e:00:00:01"))).toBe(false);
    f.setTables([parseMac("02:99:99:99:99:99")], [parseMac("01:00:5e:00:00:01")]);
    expect(f.accepts(to("02:99:99:99:99:99"))).toBe(true);
    expect(f.accepts(to("01:00:5e:00:00:01"))).toBe(true);
    expect(f.accepts(to("01:00:5e:00:00:02"))).toBe(false);
    f.allmulti = true;
    expect(f.accepts(to("01:00:5e:00:00:02"))).toBe(true);
  });

  it("a table over the limit accepts its whole class", () => {
    const f = new RxFilter(parseMac(ME), 2);
    f.promisc = false;
    const many = ["02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"].map(parseMac);
    f.setTables(many, []);
    expect(f.unicastOverflow).toBe(true);
    expect(f.accepts(to("02:12:12:12:12:12"))).toBe(true);
    expect(f.accepts(to("01:00:5e:00:00:02"))).toBe(false);
    f.reset(parseMac(ME));
    expect(f.promisc && !f.unicastOverflow && f.unicastEntries === 0).toBe(true);
  });
});

describe("executeCtrl", () => {
  it("runs the commands we offer and refuses the rest", () => {
    const f = new RxFilter(parseMac(ME));
    const macs: string[] = [];
    const run = (bytes: number[] | Uint8Array, feats = ALL) => executeCtrl(Uint8Array.from(bytes), f, feats, (m) => macs.push(formatMac(m)));
    expect(run([CTRL_CLASS.RX, CTRL_RX.PROMISC, 0])).toEqual({ ack: CTRL_ACK.OK, error: null, command: "rx.promisc" });
    expect(f.promisc).toBe(false);
    expect(run([CTRL_CLASS.RX, CTRL_RX.ALLMULTI, 1]).ack).toBe(CTRL_ACK.OK);
    expect(f.allmulti).toBe(true);
    expect(run([CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, 2, 1, 2, 3, 4, 5]).ack).toBe(CTRL_ACK.OK);
    expect(macs).toEqual(["02:01:02:03:04:05"]);
    expect(formatMac(f.mac)).toBe("02:01:02:03:04:05");
    expect(run(concat(Uint8Array.of(CTRL_CLASS.MAC, CTRL_MAC.TABLE_SET), table([]), table(["33:33:00:00:00:01"]))).ack).toBe(CTRL_ACK.OK);
    expect(f.multicastEntries).toBe(1);
    expect(run([CTRL_CLASS.RX]).error).toBe("short");
    expect(run([CTRL_CLASS.RX, CTRL_RX.PROMISC]).error).toBe("bad-length");
    expect(run([CTRL_CLASS.RX, CTRL_RX.ALLUNI, 1]).error).toBe("unsupported");
    expect(run([CTRL_CLASS.MQ, 0, 1, 0]).error).toBe("unsupported");
    expect(run([CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, 1, 2, 3]).error).toBe("bad-length");
    expect(run([CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, 3, 1, 2, 3, 4, 5]).error).toBe("bad-mac");
    // Not negotiated: unsupported, and nothing changes.
    expect(run([CTRL_CLASS.RX, CTRL_RX.PROMISC, 1], { ctrlRx: false, ctrlMacAddr: true }).error).toBe("unsupported");
    expect(f.promisc).toBe(false);
    expect(run([CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET, 2, 9, 9, 9, 9, 9], { ctrlRx: true, ctrlMacAddr: false }).error).toBe("unsupported");
    expect(macs).toHaveLength(1);
  });
});

describe("parseMacTables", () => {
  it("wants exactly two tables", () => {
    expect(parseMacTables(concat(table(["02:00:00:00:00:01"]), table([])))).not.toBeNull();
    expect(parseMacTables(table([]))).toBeNull();
    expect(parseMacTables(concat(table([]), table([]), Uint8Array.of(0)))).toBeNull();
    const huge = concat(table([]), table([]));
    huge.set([0xff, 0xff, 0xff, 0xff], 0);
    expect(parseMacTables(huge)).toBeNull();
  });
});
