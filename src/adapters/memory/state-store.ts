import { assertForward, MIN_TIME_MS } from '../../runtime/store.ts';
import type {
  CommitBatch,
  CommitResult,
  OutboxEntry,
  PartitionClaim,
  PartitionRef,
  StateStore,
  StoredPosition,
} from '../../runtime/store.ts';

interface PartitionData {
  epoch: number;
  nextOffset: string | null;
  maxEventTimeMs: number;
  watermarkMs: number;
  outboxSeq: number;
  states: Map<string, string>;
  dedup: Map<string, number>;
  timers: Map<string, number>;
  outbox: OutboxEntry[];
}

/**
 * In-memory state store with the same semantics as the Redis one (see the contract suite).
 * For unit tests and single-process experiments; nothing survives the process.
 */
export class MemoryStateStore implements StateStore {
  readonly #partitions = new Map<string, PartitionData>();
  /** Commits refused because the caller was fenced; tests read it. */
  fencedCommits = 0;

  #data(ref: PartitionRef): PartitionData {
    // JSON, not a joined string: 'a|b'+'c' and 'a'+'b|c' must stay two partitions.
    const id = JSON.stringify([ref.group, ref.topic, ref.partition]);
    let data = this.#partitions.get(id);
    if (!data) {
      data = {
        epoch: 0,
        nextOffset: null,
        maxEventTimeMs: MIN_TIME_MS,
        watermarkMs: MIN_TIME_MS,
        outboxSeq: 0,
        states: new Map(),
        dedup: new Map(),
        timers: new Map(),
        outbox: [],
      };
      this.#partitions.set(id, data);
    }
    return data;
  }

  async claim(ref: PartitionRef): Promise<PartitionClaim> {
    const data = this.#data(ref);
    data.epoch += 1;
    return {
      epoch: data.epoch,
      nextOffset: data.nextOffset,
      maxEventTimeMs: data.maxEventTimeMs,
      watermarkMs: data.watermarkMs,
      timers: [...data.timers].map(([id, atMs]) => ({ id, atMs })),
      outbox: data.outbox.map((entry) => ({ seq: entry.seq, effects: [...entry.effects] })),
    };
  }

  async positions(refs: readonly PartitionRef[]): Promise<(StoredPosition | null)[]> {
    return refs.map((ref) => {
      const data = this.#data(ref);
      return data.nextOffset === null ? null : { nextOffset: data.nextOffset, maxEventTimeMs: data.maxEventTimeMs };
    });
  }

  async loadStates(ref: PartitionRef, ids: readonly string[]): Promise<(string | null)[]> {
    const data = this.#data(ref);
    return ids.map((id) => data.states.get(id) ?? null);
  }

  async seen(ref: PartitionRef, ids: readonly string[]): Promise<boolean[]> {
    const data = this.#data(ref);
    return ids.map((id) => data.dedup.has(id));
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    assertForward(batch);
    const data = this.#data(batch.ref);
    if (batch.epoch !== data.epoch) {
      this.fencedCommits += 1;
      return { ok: false, reason: 'fenced', storedOffset: data.nextOffset };
    }
    if (data.nextOffset !== null && data.nextOffset !== batch.fromOffset) {
      return { ok: false, reason: 'offset_mismatch', storedOffset: data.nextOffset };
    }
    for (const write of batch.states) {
      if (write.value === null) data.states.delete(write.id);
      else data.states.set(write.id, write.value);
    }
    for (const mark of batch.dedup) data.dedup.set(mark.id, mark.eventTimeMs);
    for (const [id, eventTimeMs] of data.dedup) {
      if (eventTimeMs < batch.dedupPruneBelowMs) data.dedup.delete(id);
    }
    for (const id of batch.timersRemove) data.timers.delete(id);
    for (const timer of batch.timersAdd) data.timers.set(timer.id, timer.atMs);
    let outboxSeq: number | null = null;
    if (batch.effects.length > 0) {
      data.outboxSeq += 1;
      outboxSeq = data.outboxSeq;
      data.outbox.push({ seq: outboxSeq, effects: [...batch.effects] });
    }
    data.nextOffset = batch.nextOffset;
    data.maxEventTimeMs = Math.max(data.maxEventTimeMs, batch.maxEventTimeMs);
    data.watermarkMs = Math.max(data.watermarkMs, batch.watermarkMs);
    return { ok: true, outboxSeq };
  }

  async ackOutbox(ref: PartitionRef, epoch: number, uptoSeq: number): Promise<boolean> {
    const data = this.#data(ref);
    if (epoch !== data.epoch) return false;
    data.outbox = data.outbox.filter((entry) => entry.seq > uptoSeq);
    return true;
  }

  async close(): Promise<void> {}
}
