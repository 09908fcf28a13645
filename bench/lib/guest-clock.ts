// Reading the guest's own clock out of what it prints: dmesg time stamps and a process's start time.

/** USER_HZ: the unit of a process's start time in /proc/PID/stat. */
const USER_HZ = 100;

/** Seconds on the guest's clock of the first dmesg line containing `text`, or NaN. */
export function dmesgSeconds(dmesg: string, text: string): number {
  for (const line of dmesg.split("\n")) {
    const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(line);
    if (m && m[2]!.includes(text)) return Number(m[1]);
  }
  return Number.NaN;
}

/** The start time field (22nd) of a /proc/PID/stat line, in seconds since boot. */
export function statStartSeconds(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
  const ticks = Number(rest[22 - 3]);
  return Number.isFinite(ticks) ? ticks / USER_HZ : Number.NaN;
}
