// The `guest` command: boot the default guest headless and run a command in it, or give an
// interactive console.
//
//   npm run --silent guest -- exec "<shell command>" [options]   prints exactly the command's
//                                          output and exits with its exit status
//   npm run --silent guest -- shell [options]                      interactive console (Ctrl-] quits)

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { checkBzImage } from "../platform/bzimage-check.ts";
import { memoryProblem } from "../platform/machine-limits.ts";
import { bootGuest, bootInterrupts, type BootOptions } from "./boot.ts";
import { createDevices, defaultDiskBytes, diskFromBytes, DEVICE_OPTIONS, type DeviceChoices } from "./devices.ts";
import { restoreFrom, saveMachine } from "../machine/save-machine.ts";
import { readSavedMachine, writeSavedMachine, type SavedBoot, type SavedMachine } from "./saved-machine.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { createNetwork, parseNetworkChoice } from "../machine/network.ts";
import { machineStats } from "./machine-stats.ts";
import { parseMsiChoice } from "./msi-layout-option.ts";
import type { MsiMode } from "../firmware/guest-cmdline.ts";

const USAGE = `usage: guest exec "<shell command>" [options]
       guest shell [options]

options:
  --kernel FILE      kernel (bzImage) to boot instead of the default guest's
  --initrd FILE      initramfs to use instead of the default guest's
  --append "ARGS"    added to the kernel command line (e.g. virtio_mmio.msi=0)
  --memory MB        guest RAM in MiB, 80 to 2047 (default 128; must exceed 64 + initrd size)
  --timeout S        seconds allowed for boot, and again for the command (default 60)
  --disk FILE        disk image for the virtio-blk device (default: a copy of the default disk)
  --disk-ro          attach the disk read-only
  --no-disk          attach no disk
  --net BACKEND      virtio-net on v86's adapter: fetch (default: DHCP, DNS and HTTP through
                     Node's fetch), inbrowser, wisp://HOST/ or wisps://HOST/ (a relay), none
  --msi-layout L      the MSI layout the devices offer: v3 (default: an address/data pair per
                     queue beside virtio 1.4's RING_RESET) or 2020 (the 2020 proposal's vector
                     table; adds virtio_mmio.msi_layout=2020 to the kernel command line)
  --no-msi           the devices offer no MSI: the guest uses the interrupt line
  --save FILE        after exec, save the whole machine (v86, our devices, the disk's bytes)
                     to FILE; needs the default in-memory disk (no --disk)
  --restore FILE     start from a machine saved with --save instead of booting; memory,
                     interrupt mode, kernel arguments, disk and network kind come from FILE
  --stats            after exec, print device and interrupt counters to stderr as JSON, with
                     each device's interrupt mode in use and its MSI vectors or per-queue targets,
                     our patches of v86 with their self-checks (v86Patches), and any faults
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`guest: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        kernel: { type: "string" },
        initrd: { type: "string" },
        append: { type: "string" },
        memory: { type: "string" },
        timeout: { type: "string" },
        "no-msi": { type: "boolean" },
        "msi-layout": { type: "string" },
        net: { type: "string" },
        stats: { type: "boolean" },
        save: { type: "string" },
        restore: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...DEVICE_OPTIONS,
      },
    } as const);
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const [mode, ...rest] = positionals;
  if (mode !== "exec" && mode !== "shell") fail(`expected "exec" or "shell"\n${USAGE}`);
  if (mode === "exec" && rest.length !== 1) fail(`exec takes one argument, the shell command (quote it)\n${USAGE}`);
  if (mode === "shell" && rest.length !== 0) fail(`shell takes no argument\n${USAGE}`);

  const number = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) fail(`--${name} wants a positive number, not "${text}"`);
    return n;
  };
  const timeoutS = number("timeout", values.timeout, 60);
  /** --memory within MachineLimits (the same range the page and the state file take). */
  const memoryOption = (text: string | undefined): number => {
    if (text === undefined) return 128;
    const problem = memoryProblem(/^\d+$/.test(text) ? Number(text) : text);
    if (problem !== null) fail(`--memory ${text}: ${problem}`);
    return Number(text);
  };
  if (values.memory !== undefined && values.restore === undefined) memoryOption(values.memory);
  if (values.kernel !== undefined) {
    let kernel: Uint8Array;
    try {
      kernel = readFileSync(values.kernel);
    } catch (error) {
      fail(`cannot read the kernel ${values.kernel}: ${(error as Error).message}`);
    }
    const checked = checkBzImage(kernel);
    if ("problem" in checked) fail(`--kernel ${values.kernel}: ${checked.problem}`);
  }
  if (values.save !== undefined && mode !== "exec") fail("--save works with exec");
  if (values.save !== undefined && values.disk !== undefined) fail("--save keeps the disk's bytes in the file: use the default disk (no --disk)");
  let saved: SavedMachine | undefined;
  if (values.restore !== undefined) {
    for (const k of ["memory", "msi-layout", "no-msi", "append", "kernel", "initrd", "disk", "disk-ro", "no-disk"] as const) {
      if (values[k] !== undefined) fail(`--${k} comes from the saved machine with --restore`);
    }
    try {
      saved = await readSavedMachine(values.restore);
    } catch (error) {
      fail((error as Error).message);
    }
    // A saved machine never picks a WISP relay the command line did not name (docs/save-restore.md).
    const relay = /^wisps?:\/\//.test(saved.boot.net) ? saved.boot.net : null;
    if (relay !== null && values.net !== relay) {
      process.stderr.write(`guest: the saved machine names the relay ${relay}; without --net ${relay} its network is fetch\n`);
      values.net = "fetch";
    } else {
      values.net = saved.boot.net;
    }
    if (saved.boot.append !== null) values.append = saved.boot.append;
  }
  values.net ??= "fetch";
  let network;
  try {
    network = createNetwork(parseNetworkChoice(values.net));
  } catch (error) {
    fail((error as Error).message);
  }
  let msiMode: MsiMode;
  try {
    msiMode = parseMsiChoice(values["msi-layout"], values["no-msi"] === true, values.append);
  } catch (error) {
    fail((error as Error).message);
  }
  // Files saved before the layouts had "null" for the driver's choice, which was per-queue.
  if (saved) msiMode = saved.boot.msiMode ?? "queue";
  // With --save or --restore the disk is an in-memory image whose bytes go into the file.
  let diskBytes: Uint8Array | null = null;
  let disks: VirtioDevice[];
  if (saved) {
    diskBytes = saved.disk;
    disks = diskBytes ? [diskFromBytes(diskBytes, saved.boot.diskReadOnly === true)] : [];
  } else if (values.save !== undefined && !values["no-disk"]) {
    diskBytes = defaultDiskBytes();
    disks = [diskFromBytes(diskBytes, values["disk-ro"] === true)];
  } else {
    disks = await createDevices(values as DeviceChoices).catch((e: Error) => fail(e.message));
  }
  const boot: BootOptions = {
    memoryMB: saved ? saved.boot.memoryMB : memoryOption(values.memory),
    timeoutS,
    ...bootInterrupts(msiMode),
    devices: network ? [...disks, network.device] : disks,
  };
  if (saved) {
    boot.restore = restoreFrom(saved);
  }
  const saveTo = values.save === undefined ? null : {
    path: values.save,
    disk: diskBytes,
    boot: {
      memoryMB: boot.memoryMB ?? 128,
      msiMode,
      append: values.append ?? null,
      net: values.net,
      diskReadOnly: diskBytes === null ? null : saved ? saved.boot.diskReadOnly : values["disk-ro"] === true,
    } satisfies SavedBoot,
  };
  if (network) {
    boot.v86Options = network.v86Options;
    boot.onMachine = network.attach;
  }
  if (values.kernel) boot.kernel = values.kernel;
  if (values.initrd) boot.initrd = values.initrd;
  if (values.append) boot.append = values.append;

  if (mode === "exec") await runExec(rest[0]!, boot, timeoutS, values.stats === true, saveTo);
  else await runShell(boot);
}

interface SaveTarget {
  readonly path: string;
  readonly disk: Uint8Array | null;
  readonly boot: SavedBoot;
}

async function runExec(command: string, boot: BootOptions, timeoutS: number, stats: boolean, saveTo: SaveTarget | null): Promise<void> {
  let guest;
  try {
    guest = await bootGuest(boot);
  } catch (error) {
    fail(`boot failed: ${(error as Error).message}`, 125);
  }
  try {
    const result = await guest.console.exec(command, timeoutS * 1000);
    process.stdout.write(result.output);
    if (stats) process.stderr.write(JSON.stringify(machineStats(guest.machine), null, 1) + "\n");
    if (saveTo) {
      const { v86State, devices } = await saveMachine(guest.machine);
      await writeSavedMachine(saveTo.path, { boot: saveTo.boot, devices, v86State, disk: saveTo.disk });
    }
    await guest.shutdown();
    process.exit(result.status);
  } catch (error) {
    await guest.shutdown();
    fail((error as Error).message, 124);
  }
}

async function runShell(boot: BootOptions): Promise<void> {
  process.stderr.write("guest: booting... (Ctrl-] quits)\n");
  const guest = await bootGuest({ ...boot, timeoutS: boot.timeoutS ?? 60 }).catch((e: Error) =>
    fail(`boot failed: ${e.message}`, 125),
  );
  process.stdout.write(guest.console.log.split(/\r?\n/).slice(-1).join(""));
  guest.machine.onSerial((text) => process.stdout.write(text));
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on("data", (data: Buffer) => {
    if (data.includes(0x1d)) {
      void guest.shutdown().then(() => process.exit(0));
      return;
    }
    guest.machine.sendSerial(data.toString("latin1"));
  });
  process.stdin.on("end", () => void guest.shutdown().then(() => process.exit(0)));
}

void main();
