// One tab at a time keeps a disk in IndexedDB. Two tabs writing the same store would each save
// their own guest's blocks over the other's, leaving a disk neither guest wrote. A Web Lock
// named after the store is taken before the store is opened and held for the page's life; the
// browser lets go of it when the tab closes or reloads.

export type DiskLockState =
  /** This tab holds the lock until it closes. */
  | "held"
  /** Another tab (or another VM of this origin) holds it. */
  | "busy"
  /** No Web Locks here (a page served over plain HTTP from another host is not a secure
   *  context): the disk is kept as before, unguarded. */
  | "unsupported";

/** How long a lock is waited for when it is taken: a reloading tab lets go of it a moment
 *  after its new page starts, and must not find its own disk "open in another tab". */
const RELOAD_GRACE_MS = 1500;

export async function takeDiskLock(name: string, locks: LockManager | undefined = globalThis.navigator?.locks): Promise<DiskLockState> {
  if (locks === undefined) return "unsupported";
  if (await hold(locks, name, { ifAvailable: true })) return "held";
  try {
    return (await hold(locks, name, { signal: AbortSignal.timeout(RELOAD_GRACE_MS) })) ? "held" : "busy";
  } catch (error) {
    if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) return "busy";
    throw error;
  }
}

/** Resolves true once the lock is granted (then holds it for good), false if it was not. */
function hold(locks: LockManager, name: string, options: LockOptions): Promise<boolean> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        resolve(lock !== null);
        // Held until the page goes: this promise never settles.
        return lock === null ? undefined : new Promise<never>(() => {});
      })
      .catch(reject);
  });
}

/**
 * Calls `onFree` once nobody holds the lock `name` any more (the other tab closed), checking
 * every `intervalMs`. It only looks (locks.query), so it never takes the lock from under a tab
 * that is reloading. Returns a function that stops watching.
 */
export function watchDiskLock(name: string, onFree: () => void, intervalMs = 2000, locks: LockManager | undefined = globalThis.navigator?.locks): () => void {
  if (locks === undefined) return () => {};
  const timer = setInterval(() => {
    void locks.query().then((state) => {
      const taken = [...(state.held ?? []), ...(state.pending ?? [])].some((l) => l.name === name);
      if (!taken) {
        clearInterval(timer);
        onFree();
      }
    });
  }, intervalMs);
  return () => clearInterval(timer);
}
