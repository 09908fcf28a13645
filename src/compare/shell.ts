// How the comparison talks to a guest: a shell command in, its output and exit status out.
// Under Node that is the GuestConsole on the serial port; the page uses the same console
// class on its own machines. Anything with this one method will do.

export interface ExecResult {
  output: string;
  status: number;
}

export interface GuestShell {
  exec(command: string, timeoutMs: number): Promise<ExecResult>;
}

/** Runs `command` and returns its output; a non-zero status is an error naming the command. */
export async function run(shell: GuestShell, command: string, timeoutMs = 120_000): Promise<string> {
  const r = await shell.exec(command, timeoutMs);
  if (r.status !== 0) throw new Error(`guest command failed (${r.status}): ${command}\n${r.output}`);
  return r.output;
}
