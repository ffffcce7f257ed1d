import type { Logger } from '../runtime/logger.ts';
import { type ArchiveRecord, type BronzeColumns, toBuckets } from './rows.ts';
import type { BronzeStore, Encode } from './store.ts';

/** Where records come from (a Kafka consumer group in production; a fake in tests). */
export interface ArchiveSource {
  /** Re-position a partition; the next batch for it starts at `offset`. */
  seek(partition: number, offset: bigint): void;
  /** Record progress for monitoring (the bronze markers are the source of truth). */
  commit(partition: number, nextOffset: bigint): Promise<void>;
}

export interface ArchiverOptions {
  readonly topic: string;
  readonly segmentMaxRecords: number;
  readonly segmentMaxAgeMs: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly encode: Encode<BronzeColumns>;
  readonly onSegment?: (partition: number, rows: number, ms: number) => void;
}

interface PartitionState {
  /** The offset the next record must have; undefined before the first record of a fresh partition. */
  expected: bigint | undefined;
  buffer: ArchiveRecord[];
  firstBufferedAtMs: number;
  seekedOnce: boolean;
}

/**
 * Archives every record of the topic exactly once into the bronze store. All work is
 * serialised (one promise chain), so a time-triggered flush never races a batch. State per
 * partition is rebuilt from the store's markers after every (re)assignment: the file listing,
 * not Kafka's committed offset, says where archiving resumes.
 */
export class Archiver {
  readonly #store: BronzeStore;
  readonly #source: ArchiveSource;
  readonly #o: ArchiverOptions;
  readonly #state = new Map<number, PartitionState>();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(store: BronzeStore, source: ArchiveSource, options: ArchiverOptions) {
    this.#store = store;
    this.#source = source;
    this.#o = options;
  }

  /** After a rebalance: forget buffers (uncommitted, they will be re-read) and positions. */
  onAssign(): Promise<void> {
    return this.#serial(async () => this.#state.clear());
  }

  onBatch(partition: number, records: readonly ArchiveRecord[]): Promise<void> {
    return this.#serial(async () => {
      const s = await this.#partition(partition);
      for (const r of records) {
        if (s.expected !== undefined && r.offset < s.expected) continue; // already archived or buffered
        if (s.expected !== undefined && r.offset > s.expected) {
          if (s.buffer.length === 0 && !s.seekedOnce) {
            s.seekedOnce = true;
            this.#o.logger.warn(
              { partition, expected: String(s.expected), got: String(r.offset) },
              'gap: seeking back',
            );
            this.#source.seek(partition, s.expected);
            return;
          }
          this.#o.logger.warn(
            { partition, expected: String(s.expected), got: String(r.offset) },
            'offset gap accepted',
          );
        }
        if (s.buffer.length === 0) s.firstBufferedAtMs = this.#o.now();
        s.buffer.push(r);
        s.expected = r.offset + 1n;
        if (s.buffer.length >= this.#o.segmentMaxRecords) await this.#flush(partition, s);
      }
    });
  }

  /** Flushes partitions whose oldest buffered record waited ≥ segmentMaxAgeMs (or all). */
  flushDue(all = false): Promise<void> {
    return this.#serial(async () => {
      for (const [partition, s] of this.#state) {
        if (s.buffer.length > 0 && (all || this.#o.now() - s.firstBufferedAtMs >= this.#o.segmentMaxAgeMs)) {
          await this.#flush(partition, s);
        }
      }
    });
  }

  /** Records buffered and not yet committed (for metrics and tests). */
  buffered(): number {
    let n = 0;
    for (const s of this.#state.values()) n += s.buffer.length;
    return n;
  }

  async #partition(partition: number): Promise<PartitionState> {
    let s = this.#state.get(partition);
    if (!s) {
      const next = await this.#store.recover(partition, this.#o.now());
      s = { expected: next, buffer: [], firstBufferedAtMs: 0, seekedOnce: false };
      this.#state.set(partition, s);
    }
    return s;
  }

  async #flush(partition: number, s: PartitionState): Promise<void> {
    const records = s.buffer;
    s.buffer = [];
    const first = records[0]!.offset;
    const last = records.at(-1)!.offset;
    const started = performance.now();
    const buckets = toBuckets(partition, records);
    let ok: boolean;
    try {
      ok = await this.#store.commit(
        this.#o.topic,
        partition,
        first,
        last,
        buckets,
        this.#o.encode,
        this.#o.now(),
      );
    } catch (err) {
      // Nothing committed: forget the partition so the next batch re-derives the position.
      this.#state.delete(partition);
      this.#source.seek(partition, first);
      throw err;
    }
    if (!ok) {
      // Another writer committed this start offset: resync from the markers.
      this.#o.logger.warn(
        { partition, first: String(first) },
        'segment already committed by another writer; resyncing',
      );
      this.#state.delete(partition);
      const next = await this.#store.recover(partition, this.#o.now());
      if (next !== undefined) this.#source.seek(partition, next);
      return;
    }
    s.seekedOnce = false;
    this.#o.onSegment?.(partition, records.length, performance.now() - started);
    await this.#source.commit(partition, last + 1n);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
