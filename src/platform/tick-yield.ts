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

/**
 * Routes v86's immediate turns through a MessageChannel. Returns the counters, or null where
 * there is nothing to improve (no MessageChannel: Node, which v86 already serves with
 * setImmediate) or the loop object is not the one we know.
 */
export function installChannelYield(loop: Partial<V86MainLoop>): TickYieldCounters | null {
  if (typeof MessageChannel !== "function" || !("window" in globalThis)) return null;
  if (typeof loop.yield !== "function" || typeof loop.yield_callback !== "function" || typeof loop.unregister_yield !== "function") {
    return null;
  }
  const v86Yield = loop.yield.bind(loop);
  const v86Unregister = loop.unregister_yield.bind(loop);
  const callback = loop.yield_callback.bind(loop);
  const counters: TickYieldCounters = { immediate: 0, delayed: 0 };
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => callback((e as { data: number }).data);
  loop.yield = (delay: number, tick: number) => {
    if (delay < 1) {
      counters.immediate++;
      channel.port2.postMessage(tick);
    } else {
      counters.delayed++;
      v86Yield(delay, tick);
    }
  };
  loop.unregister_yield = () => {
    channel.port1.onmessage = null;
    channel.port1.close();
    v86Unregister();
  };
  return counters;
}
