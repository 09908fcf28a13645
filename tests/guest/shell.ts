// Runs a command in a booted guest and returns its output; a non-zero exit status fails the test
// with the command and what it printed.
import type { BootedGuest } from "../../src/node/boot.ts";

export async function sh(guest: Pick<BootedGuest, "console">, command: string, timeoutMs = 60_000): Promise<string> {
  const r = await guest.console.exec(command, timeoutMs);
  if (r.status !== 0) throw new Error(`guest command failed (${r.status}): ${command}\n${r.output}`);
  return r.output;
}
