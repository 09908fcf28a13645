// Waiting on the guest's own progress instead of the host's clock: v86's instruction counter
// (Machine.instructions). A test that claims something did not happen lets the guest run at
// least a given number of instructions first, so a slow host makes it slower, never wrong.
import type { Machine } from "../../src/machine/machine.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once the guest has run at least `instructions` more, or while `still()` stays true
 * fails as soon as it turns false; throws on the deadline (the guest did not run). Returns the
 * instructions run.
 */
export async function guestRuns(
  machine: Pick<Machine, "instructions">,
  instructions: number,
  still: () => boolean = () => true,
  timeoutMs = 120_000,
): Promise<number> {
  const start = machine.instructions;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ran = (machine.instructions - start) >>> 0;
    if (!still()) throw new Error(`the condition ended after ${ran} guest instructions, before ${instructions}`);
    if (ran >= instructions) return ran;
    if (Date.now() > deadline) throw new Error(`the guest ran only ${ran} of ${instructions} instructions in ${timeoutMs} ms`);
    await sleep(10);
  }
}
