import type {
  CommitBatch,
  CommitResult,
  PartitionClaim,
  PartitionRef,
  StateStore,
  StoredPosition,
} from '../runtime/store.ts';
import { MIN_TIME_MS } from '../runtime/store.ts';

/**
 * `bench:runtime --ceiling` only: a store that keeps each partition's next offset and nothing
 * else. Every state loads as absent, no event was ever seen, commits always succeed. It is not a
 * state store (no state, no dedup, no fencing, nothing survives the process); it measures what
 * the engine costs without storage (decode, step, encode, commit arguments), so the benchmark can
 * tell how much of the gap to the raw consumer is the engine's and how much Redis's.
 */
export class NullStateStore implements StateStore {
  readonly #next = new Map<number, string>();

  async claim(ref: PartitionRef): Promise<PartitionClaim> {
    const nextOffset = this.#next.get(ref.partition) ?? null;
    return {
      epoch: 1,
      nextOffset,
      maxEventTimeMs: MIN_TIME_MS,
      watermarkMs: MIN_TIME_MS,
      timers: [],
      outbox: [],
    };
  }

  async loadStates(_ref: PartitionRef, ids: readonly string[]): Promise<(string | null)[]> {
    return ids.map(() => null);
  }

  async seen(_ref: PartitionRef, ids: readonly string[]): Promise<boolean[]> {
    return ids.map(() => false);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    this.#next.set(batch.ref.partition, batch.nextOffset);
    return { ok: true, outboxSeq: null };
  }

  async ackOutbox(): Promise<boolean> {
    return true;
  }

  async positions(refs: readonly PartitionRef[]): Promise<(StoredPosition | null)[]> {
    return refs.map(() => null);
  }

  async close(): Promise<void> {}
}
