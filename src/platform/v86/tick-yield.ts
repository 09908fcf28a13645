// How v86's main loop gets its next turn in a page.
//
// v86 runs the guest in ticks: its main_loop() executes guest instructions for about 1 ms
// (TIME_PER_FRAME in v86's cpu.rs), then asks to be called again through `yield(delay, tick)`:
// at once (delay < 1) while the guest is busy, or after `delay` ms when the CPU halted until
// its next timer. Under Node that is setImmediate. In a page, v86 0.5 posts every request to a
// Worker it creates, which posts it back: a round trip through another thread for each
// millisecond of guest work, which is where the page lost against Node on the same guest
// (README, "In the browser").
//
// For the "at once" case a MessageChannel does the same job on the page's own thread: the
// message is a task of its own (input, rendering and our timers still run between ticks, as
// with the worker) with no other thread to wake. Delayed turns stay with v86's worker, whose
// timers are neither clamped (nested main-thread timers are held to 4 ms) nor throttled in a
// background tab. Every turn still goes through v86's yield_callback, which ignores a stale tick.
//
// A page whose v86 loop object is not the one we know runs with v86's own round trip, slower
// but correct: that refusal is a fault (`refused`), shown in the debug snapshot, not a silence.

import { MethodSwap, type UninstallOutcome, type V86Patch } from "./patch.ts";

/** The part of v86's main-loop object (`emulator.v86`) this touches; names checked at install. */
export interface V86MainLoop {
  yield(delay: number, tick: number): void;
  yield_callback(tick: number): void;
  unregister_yield(): void;
}

export interface TickYieldCounters {
  /** Turns given through the MessageChannel. */
  immediate: number;
  /** Turns left to v86's own yield (a delay: the CPU is halted). */
  delayed: number;
}

/** Whether this is a page with a MessageChannel (under Node v86 already has setImmediate). */
export const channelYieldHelps = () => typeof MessageChannel === "function" && "window" in globalThis;

export class ChannelYield implements V86Patch {
  readonly name = "channel-yield";
  readonly #loop: Partial<V86MainLoop>;
  readonly #yield: MethodSwap<Partial<V86MainLoop>, "yield">;
  readonly #unregister: MethodSwap<Partial<V86MainLoop>, "unregister_yield">;
  #channel: MessageChannel | null = null;
  readonly counters: TickYieldCounters = { immediate: 0, delayed: 0 };
  /** Why install left v86's own yield in place in a page (null: installed, or not a page). */
  refused: string | null = null;

  constructor(loop: Partial<V86MainLoop>) {
    this.#loop = loop;
    this.#yield = new MethodSwap(loop, "yield");
    this.#unregister = new MethodSwap(loop, "unregister_yield");
  }

  get installed(): boolean {
    return this.#yield.installed;
  }

  /** Whether v86's loop object holds our yield now. */
  get live(): boolean {
    return this.#yield.live;
  }

  /** What is missing from the loop object for this patch (empty: it is the loop we know). */
  #shapeProblems(): string[] {
    const names = ["yield", "yield_callback", "unregister_yield"] as const;
    return names.filter((n) => typeof this.#loop[n] !== "function").map((n) => `emulator.v86.${n} is not a function`);
  }

  /** Installs in a page; under Node does nothing (returns quietly, `installed` stays false). */
  install(): void {
    if (!channelYieldHelps() || this.installed) return;
    const missing = this.#shapeProblems();
    if (missing.length) {
      this.refused = `v86's main-loop object is not the one this build knows (${missing.join("; ")}): its worker round trip stays`;
      return;
    }
    const callback = this.#loop.yield_callback!.bind(this.#loop);
    const channel = (this.#channel = new MessageChannel());
    channel.port1.onmessage = (e) => callback((e as { data: number }).data);
    this.#yield.install((original) => {
      const v86Yield = original!.bind(this.#loop);
      return (delay: number, tick: number) => {
        if (delay < 1) {
          this.counters.immediate++;
          channel.port2.postMessage(tick);
        } else {
          this.counters.delayed++;
          v86Yield(delay, tick);
        }
      };
    });
    this.#unregister.install((original) => {
      const v86Unregister = original!.bind(this.#loop);
      return () => {
        this.#closeChannel();
        v86Unregister();
      };
    });
  }

  #closeChannel(): void {
    if (!this.#channel) return;
    this.#channel.port1.onmessage = null;
    this.#channel.port1.close();
    this.#channel = null;
  }

  uninstall(): UninstallOutcome {
    if (!this.installed) return "nothing";
    const a = this.#yield.uninstall();
    this.#unregister.uninstall();
    this.#closeChannel();
    return a;
  }

  selfCheck(): string[] {
    if (this.refused) return [this.refused];
    if (!channelYieldHelps()) return [];
    const problems = this.#shapeProblems();
    if (this.installed && !this.live) problems.push("emulator.v86.yield was replaced by someone else after us");
    return problems;
  }
}

/**
 * Routes v86's immediate turns through a MessageChannel. Returns the counters, or null where
 * there is nothing to improve (Node) or the loop object is not the one we know (then see
 * ChannelYield.refused, which a Machine reports as a fault).
 */
export function installChannelYield(loop: Partial<V86MainLoop>): TickYieldCounters | null {
  const patch = new ChannelYield(loop);
  patch.install();
  return patch.installed ? patch.counters : null;
}
