// What machine a run happened on, and how busy it was.
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export interface HostInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  loadAvgAtStart: number[];
  loadAvgAtEnd?: number[];
}

export function hostInfo(): HostInfo {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() has it.
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAvgAtStart: currentLoad(),
  };
}

export function currentLoad(): number[] {
  return loadavg().map((x) => Number(x.toFixed(2)));
}
