/**
 * Reusable "distinct values → dense index" tables for per-event hot loops (distinct counts in
 * user features, dictionaries in the user state codec). Each is emptied by `reset` and reused,
 * never reallocated per call: Sets and Maps were a visible share of the user worker's CPU and
 * garbage (a Set's clear() allocates a new table, and growing one rehashes).
 *
 * A module keeps one instance per use as scratch; that is safe because the loops using them
 * never call out while filling them, and JS runs one call at a time.
 */

/** 32-bit integers (compared as `value | 0`): open addressing over typed arrays, emptied by moving to a new stamp. */
export class IntIndex {
  #keys = new Int32Array(64);
  #stamps = new Uint32Array(64);
  #slots = new Int32Array(64);
  #stamp = 0;
  /** Distinct values since the last reset; they have indices 0 … size − 1 in first-seen order. */
  size = 0;

  /** Empties the table, sized for up to `n` distinct values (load factor ≤ 1/2). */
  reset(n: number): void {
    if (this.#keys.length < 2 * n) {
      let capacity = this.#keys.length;
      while (capacity < 2 * n) capacity *= 2;
      this.#keys = new Int32Array(capacity);
      this.#stamps = new Uint32Array(capacity);
      this.#slots = new Int32Array(capacity);
      this.#stamp = 0;
    }
    this.#stamp += 1;
    if (this.#stamp === 0x1_0000_0000) {
      this.#stamps.fill(0);
      this.#stamp = 1;
    }
    this.size = 0;
  }

  /** The value's index, adding it when new. More than the `n` of reset() values would loop forever: callers size it. */
  indexOf(value: number): number {
    const key = value | 0;
    const mask = this.#keys.length - 1;
    const h = Math.imul(key, 0x9e3779b1);
    let i = (h ^ (h >>> 15)) & mask;
    while (this.#stamps[i] === this.#stamp) {
      if (this.#keys[i] === key) return this.#slots[i] as number;
      i = (i + 1) & mask;
    }
    this.#stamps[i] = this.#stamp;
    this.#keys[i] = key;
    this.#slots[i] = this.size;
    this.size += 1;
    return this.size - 1;
  }
}

/**
 * Short strings such as country codes, of which a user has one or a few: a short list (checked
 * against the previous value first) beats hashing; past {@link FEW} values a Map takes over.
 */
const FEW = 8;
export class StringIndex {
  /** The distinct values since the last reset, by index. */
  readonly values: string[] = [];
  #many: Map<string, number> | undefined;
  #last = '';
  #lastIndex = -1;

  reset(): void {
    this.values.length = 0;
    this.#many = undefined;
    this.#last = '';
    this.#lastIndex = -1;
  }

  get size(): number {
    return this.values.length;
  }

  indexOf(value: string): number {
    if (value === this.#last && this.#lastIndex >= 0) return this.#lastIndex;
    const values = this.values;
    let index = -1;
    if (this.#many !== undefined) {
      index = this.#many.get(value) ?? -1;
    } else {
      for (let i = 0; i < values.length; i++) {
        if (values[i] === value) {
          index = i;
          break;
        }
      }
    }
    if (index < 0) {
      index = values.push(value) - 1;
      if (this.#many !== undefined) this.#many.set(value, index);
      else if (values.length > FEW) this.#many = new Map(values.map((v, i) => [v, i]));
    }
    this.#last = value;
    this.#lastIndex = index;
    return index;
  }
}
