/**
 * Decoded actor states kept in memory between batches, per partition, with a global bound.
 * Every entry is clean after a commit (the store has the same value), so evicting one
 * ("passivation") never loses anything: the next message for that key reloads it.
 *
 * Maps keep insertion order; touching an entry re-inserts it, so iteration order is LRU first.
 *
 * Admission (`setAll`, after a commit): a state enters the cache on its key's second commit
 * within a while, not its first. Payment streams have long tails of keys seen once (a user's
 * only payment); caching those evicts hot states and, worse, every cached state and id outlives
 * the young generation and dies in the old one: with one message per key (bench:runtime) the
 * cache was most of the runtime's GC work. The cost: a key's second message loads its state
 * from the store once more. "Seen once" is a direct-mapped table of id fingerprints (1 MiB);
 * a collision only forgets a key (one more load) or admits one early, never anything worse.
 *
 * Two bounds: entries, and bytes of the states' encoded form (as the commit wrote them). A
 * count alone is no bound on memory: a user state with five payments of history decodes to
 * ~2 KB, and 200,000 of them ran a user worker out of its 352 MiB heap (bench:memory). The
 * encoded length is known for free at the commit and grows with what the decoded state holds.
 */
const DOORKEEPER_SLOTS = 1 << 18;

/** FNV-1a over the UTF-16 code units of `id`; never 0 (0 marks an empty slot). */
function fingerprint(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

export class ActorCache {
  readonly #byPartition = new Map<number, Map<string, unknown>>();
  /** Encoded size of each cached state that has one, per partition (order does not matter). */
  readonly #weights = new Map<number, Map<string, number>>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #seenOnce = new Uint32Array(DOORKEEPER_SLOTS);
  #size = 0;
  #bytes = 0;
  /** Count of evictions, exported as a metric. */
  passivated = 0;

  constructor(maxEntries: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#size;
  }

  /** Encoded bytes of the cached states (those committed with a size). */
  get bytes(): number {
    return this.#bytes;
  }

  get(partition: number, id: string): unknown {
    const map = this.#byPartition.get(partition);
    if (!map?.has(id)) return undefined;
    const value = map.get(id);
    map.delete(id);
    map.set(id, value);
    return value;
  }

  /** Like `get` without touching recency (the caller re-`set`s the entry after its commit). */
  peek(partition: number, id: string): unknown {
    return this.#byPartition.get(partition)?.get(id);
  }

  has(partition: number, id: string): boolean {
    return this.#byPartition.get(partition)?.has(id) ?? false;
  }

  set(partition: number, id: string, value: unknown): void {
    let map = this.#byPartition.get(partition);
    if (!map) {
      map = new Map();
      this.#byPartition.set(partition, map);
    }
    if (map.has(id)) map.delete(id);
    else this.#size += 1;
    map.set(id, value);
  }

  /**
   * The states a commit wrote, in their order: cached ones are updated (made most recent),
   * others admitted on their second commit (see the class comment). `sizes`: encoded bytes
   * per state id, counted against the byte bound.
   */
  setAll(partition: number, entries: ReadonlyMap<string, unknown>, sizes?: ReadonlyMap<string, number>): void {
    if (entries.size === 0) return;
    let map = this.#byPartition.get(partition);
    if (!map) {
      map = new Map();
      this.#byPartition.set(partition, map);
    }
    for (const [id, value] of entries) {
      if (map.has(id)) {
        map.delete(id);
        map.set(id, value);
      } else if (this.#admit(id)) {
        this.#size += 1;
        map.set(id, value);
      } else {
        continue;
      }
      if (sizes) this.#weigh(partition, id, sizes.get(id) ?? 0);
    }
  }

  #weigh(partition: number, id: string, bytes: number): void {
    let weights = this.#weights.get(partition);
    if (!weights) {
      weights = new Map();
      this.#weights.set(partition, weights);
    }
    this.#bytes += bytes - (weights.get(id) ?? 0);
    if (bytes > 0) weights.set(id, bytes);
    else weights.delete(id);
  }

  /** True when `id` was offered before (and not forgotten); otherwise remembers it. */
  #admit(id: string): boolean {
    const fp = fingerprint(id);
    const slot = (fp ^ (fp >>> 18)) & (DOORKEEPER_SLOTS - 1);
    if (this.#seenOnce[slot] === fp) return true;
    this.#seenOnce[slot] = fp;
    return false;
  }

  /** Drops everything of a partition (revoked or fenced). */
  dropPartition(partition: number): void {
    const map = this.#byPartition.get(partition);
    if (!map) return;
    this.#size -= map.size;
    this.#byPartition.delete(partition);
    for (const bytes of this.#weights.get(partition)?.values() ?? []) this.#bytes -= bytes;
    this.#weights.delete(partition);
  }

  /**
   * Evicts least recently used entries, spread evenly over partitions, until within both
   * bounds. One iterator per partition map and pass: a fresh `keys().next()` per eviction
   * rescans the slots deleted at the front of the map every time, which made eviction quadratic
   * (16% of the runtime's CPU in the 1M-key benchmark). Deleting the current entry while
   * iterating is safe. Over the byte bound, a pass evicts the same share of every partition's
   * entries as the share of bytes over the bound (at least one each).
   */
  passivate(): void {
    while (this.#size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const partitions = [...this.#byPartition].filter(([, map]) => map.size > 0);
      if (partitions.length === 0) return;
      const overCount = Math.ceil((this.#size - this.#maxEntries) / partitions.length);
      const overShare = this.#bytes > this.#maxBytes ? (this.#bytes - this.#maxBytes) / this.#bytes : 0;
      for (const [partition, map] of partitions) {
        let quota = Math.max(overCount, Math.ceil(map.size * overShare));
        const weights = this.#weights.get(partition);
        for (const id of map.keys()) {
          if (quota <= 0 || (this.#size <= this.#maxEntries && this.#bytes <= this.#maxBytes)) break;
          map.delete(id);
          const bytes = weights?.get(id);
          if (bytes !== undefined) {
            this.#bytes -= bytes;
            weights!.delete(id);
          }
          quota -= 1;
          this.#size -= 1;
          this.passivated += 1;
        }
      }
    }
  }
}
