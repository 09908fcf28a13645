// Vitest 5's failure summary calls Map.groupBy, which Node 20 (these machines' Node) lacks:
// without this, a failing test crashes the reporter and hides which test failed.
// Runs in Vitest's main process as a global setup.
export default function setup(): void {
  const M = Map as unknown as { groupBy?: unknown };
  if (typeof M.groupBy === "function") return;
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value<T, K>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        const group = groups.get(k);
        if (group) group.push(item);
        else groups.set(k, [item]);
      }
      return groups;
    },
  });
}
