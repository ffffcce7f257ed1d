import type { StoredTimer } from './store.ts';

/**
 * Event-time timers of one partition, in memory, mirrored durably by the store. A min-heap
 * ordered by (atMs, id) with lazy deletion: re-scheduling a timer id replaces its time, and
 * stale heap entries are skipped when popped. Due timers come out in (atMs, id) order, so firing
 * order does not depend on when or how often they were scheduled.
 */
export class TimerIndex {
  readonly #due = new Map<string, number>();
  #heap: StoredTimer[] = [];

  constructor(timers: readonly StoredTimer[] = []) {
    for (const timer of timers) this.set(timer.id, timer.atMs);
  }

  get size(): number {
    return this.#due.size;
  }

  set(id: string, atMs: number): void {
    if (this.#due.get(id) === atMs) return;
    this.#due.set(id, atMs);
    this.#push({ id, atMs });
  }

  /** Earliest pending time, or undefined. */
  peekTime(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.atMs;
  }

  /** Ids of the timers with atMs ≤ watermark, left in place (any order): whose states to load. */
  dueIds(watermarkMs: number): string[] {
    const ids: string[] = [];
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const entry = this.#heap[i];
      // Min-heap: below an entry that is not due, nothing is due.
      if (!entry || entry.atMs > watermarkMs) continue;
      if (this.#due.get(entry.id) === entry.atMs) ids.push(entry.id);
      stack.push(2 * i + 1, 2 * i + 2);
    }
    return ids;
  }

  /** Removes and returns every timer with atMs ≤ watermark, in firing order. */
  popDue(watermarkMs: number): StoredTimer[] {
    const fired: StoredTimer[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (!top || top.atMs > watermarkMs) return fired;
      this.#pop();
      this.#due.delete(top.id);
      fired.push(top);
    }
  }

  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (!top || this.#due.get(top.id) === top.atMs) return;
      this.#pop();
    }
  }

  #less(a: StoredTimer, b: StoredTimer): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.id < b.id);
  }

  #push(item: StoredTimer): void {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (heap.length === 0 || !last) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
