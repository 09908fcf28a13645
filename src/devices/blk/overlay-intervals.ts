// A set of integers kept as sorted, disjoint, non-touching half-open intervals [start, end).
// The overlay uses it for blocks that read as zeros: a discard of a whole 1 GiB disk is one
// interval, not 262,144 entries. Memory grows with the number of separate runs, not their length.

export class IntervalSet {
  /** Flat [start0, end0, start1, end1, ...], ascending; end_i < start_{i+1} (touching runs merge). */
  #bounds: number[] = [];
  #count = 0;

  /** How many integers the set holds. */
  get count(): number {
    return this.#count;
  }

  /** How many separate runs it holds. */
  get runs(): number {
    return this.#bounds.length / 2;
  }

  has(i: number): boolean {
    const k = this.#runAtOrBefore(i);
    return k >= 0 && i < this.#bounds[2 * k + 1]!;
  }

  /** The end of the run that holds i, or null when i is not in the set. */
  runEnd(i: number): number | null {
    const k = this.#runAtOrBefore(i);
    return k >= 0 && i < this.#bounds[2 * k + 1]! ? this.#bounds[2 * k + 1]! : null;
  }

  /** The start of the first run that begins after i, or Infinity. */
  nextStart(i: number): number {
    const k = this.#runAtOrBefore(i) + 1;
    return 2 * k < this.#bounds.length ? this.#bounds[2 * k]! : Infinity;
  }

  /** Adds [start, end); merges with runs it overlaps or touches. */
  add(start: number, end: number): void {
    if (!(start < end)) return;
    const b = this.#bounds;
    // First run whose end reaches start (touching counts), last run whose start reaches end.
    const lo = this.#firstEndingAtOrAfter(start);
    let hi = lo;
    let newStart = start;
    let newEnd = end;
    let removed = 0;
    while (2 * hi < b.length && b[2 * hi]! <= end) {
      newStart = Math.min(newStart, b[2 * hi]!);
      newEnd = Math.max(newEnd, b[2 * hi + 1]!);
      removed += b[2 * hi + 1]! - b[2 * hi]!;
      hi++;
    }
    b.splice(2 * lo, 2 * (hi - lo), newStart, newEnd);
    this.#count += newEnd - newStart - removed;
  }

  /** Removes [start, end); splits a run that covers it on both sides. */
  remove(start: number, end: number): void {
    if (!(start < end)) return;
    const b = this.#bounds;
    // Runs that overlap [start, end): ends after start and starts before end.
    const lo = this.#firstEndingAfter(start);
    let hi = lo;
    const keep: number[] = [];
    let removed = 0;
    while (2 * hi < b.length && b[2 * hi]! < end) {
      const s = b[2 * hi]!;
      const e = b[2 * hi + 1]!;
      if (s < start) keep.push(s, start);
      if (e > end) keep.push(end, e);
      removed += Math.min(e, end) - Math.max(s, start);
      hi++;
    }
    if (hi === lo) return;
    b.splice(2 * lo, 2 * (hi - lo), ...keep);
    this.#count -= removed;
  }

  clear(): void {
    this.#bounds = [];
    this.#count = 0;
  }

  /** The runs, ascending. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    const b = this.#bounds.slice();
    for (let k = 0; k < b.length; k += 2) yield [b[k]!, b[k + 1]!];
  }

  /** Index of the last run starting at or before i, or -1. */
  #runAtOrBefore(i: number): number {
    const b = this.#bounds;
    let lo = 0;
    let hi = b.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[2 * mid]! <= i) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Index of the first run whose end is >= x (it overlaps or touches [x, ...)). */
  #firstEndingAtOrAfter(x: number): number {
    const b = this.#bounds;
    let lo = 0;
    let hi = b.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[2 * mid + 1]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first run whose end is > x (it holds something at or after x). */
  #firstEndingAfter(x: number): number {
    const b = this.#bounds;
    let lo = 0;
    let hi = b.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[2 * mid + 1]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
