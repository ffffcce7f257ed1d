import type { OutputEffect } from './actor.ts';
import { ErrorCodes, RiskstreamError } from './errors.ts';

/**
 * The state store port. The runtime talks to this interface; adapters (memory, Redis) implement
 * it. One partition of one consumer group is the unit of ownership and of atomicity.
 *
 * Invariants every implementation keeps:
 * - `commit` is atomic: state writes, dedup marks, timers, outbox and the new offset are applied
 *   together or not at all.
 * - `commit` and `ackOutbox` refuse a caller whose epoch is not the current one (fencing), so a
 *   zombie that lost its partition cannot write.
 * - `commit` refuses a batch whose `fromOffset` is not the stored next offset (a stale replay),
 *   so inputs are never applied twice.
 * - `commit` throws, before any write, for a batch whose `nextOffset` is below its `fromOffset`
 *   (`assertForward`): the stored position never moves backwards.
 */
export interface PartitionRef {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

/** A timer id is `${actorType}\u0000${key}\u0000${tag}`; see `timerId`. */
export interface StoredTimer {
  readonly id: string;
  readonly atMs: number;
}

/** One commit's effects, in order. `seq` increases by one per commit that has effects. */
export interface OutboxEntry {
  readonly seq: number;
  readonly effects: readonly OutputEffect[];
}

export interface PartitionClaim {
  readonly epoch: number;
  /** Next input offset to process; null when the partition was never committed. */
  readonly nextOffset: string | null;
  readonly maxEventTimeMs: number;
  readonly watermarkMs: number;
  readonly timers: readonly StoredTimer[];
  /** Committed but not yet acknowledged effects, oldest first: drain them before new input. */
  readonly outbox: readonly OutboxEntry[];
}

export interface StoredPosition {
  /** Next input offset to process. */
  readonly nextOffset: string;
  readonly maxEventTimeMs: number;
}

export interface StateWrite {
  /** `${actorType}\u0000${key}`; see `stateId`. */
  readonly id: string;
  /** Encoded state prefixed by its codec version (`v<version>:<payload>`); null deletes. */
  readonly value: string | null;
}

export interface DedupMark {
  readonly id: string;
  /** The mark's score: the event time, or the processing time for a re-keyed input. */
  readonly eventTimeMs: number;
}

export interface CommitBatch {
  readonly ref: PartitionRef;
  readonly epoch: number;
  /** Must equal the stored next offset (or the store has none yet). */
  readonly fromOffset: string;
  /** The next offset after this batch (last processed offset + 1). */
  readonly nextOffset: string;
  readonly states: readonly StateWrite[];
  readonly dedup: readonly DedupMark[];
  /** Dedup marks scored below this are dropped (ordered input: such events are late anyway). */
  readonly dedupPruneBelowMs: number;
  readonly timersAdd: readonly StoredTimer[];
  readonly timersRemove: readonly string[];
  /** Effects to append to the outbox as one entry; empty for none. */
  readonly effects: readonly OutputEffect[];
  readonly maxEventTimeMs: number;
  readonly watermarkMs: number;
}

export type CommitResult =
  | { readonly ok: true; readonly outboxSeq: number | null }
  | { readonly ok: false; readonly reason: 'fenced' | 'offset_mismatch'; readonly storedOffset: string | null };

export interface StateStore {
  /** Takes ownership: increments and returns the partition's epoch, with its durable position. */
  claim(ref: PartitionRef): Promise<PartitionClaim>;
  /** Values (as written) for state ids, null where absent. Order matches `ids`. */
  loadStates(ref: PartitionRef, ids: readonly string[]): Promise<(string | null)[]>;
  /** For each id, whether a dedup mark exists. Order matches `ids`. */
  seen(ref: PartitionRef, ids: readonly string[]): Promise<boolean[]>;
  commit(batch: CommitBatch): Promise<CommitResult>;
  /** Drops outbox entries with seq ≤ `uptoSeq`. Returns false when fenced. */
  ackOutbox(ref: PartitionRef, epoch: number, uptoSeq: number): Promise<boolean>;
  /**
   * Durable positions of any partitions, whoever owns them (null: never committed). Read-only
   * and not fenced: event-time alignment reads the whole group's progress with it.
   */
  positions(refs: readonly PartitionRef[]): Promise<(StoredPosition | null)[]>;
  close(): Promise<void>;
}

/** Event time of "nothing seen yet": the earliest JS date, JSON- and Redis-safe (not -Infinity). */
export const MIN_TIME_MS = -8_640_000_000_000_000;

export function stateId(actorType: string, key: string): string {
  return `${actorType}\u0000${key}`;
}

export function timerId(actorType: string, key: string, tag: string): string {
  return `${actorType}\u0000${key}\u0000${tag}`;
}

export function parseTimerId(id: string): { actorType: string; key: string; tag: string } {
  const [actorType = '', key = '', tag = ''] = id.split('\u0000');
  return { actorType, key, tag };
}

/**
 * Throws VALIDATION_FAILED when `batch` would move the stored position backwards. Stores call it
 * before any I/O: such a batch is a bug of its caller (input records out of offset order), and
 * committing it would make the partition apply the records between the two offsets again.
 */
export function assertForward(batch: Pick<CommitBatch, 'fromOffset' | 'nextOffset'>): void {
  if (Number(batch.nextOffset) < Number(batch.fromOffset)) {
    throw new RiskstreamError(
      ErrorCodes.validationFailed,
      `commit would move the position backwards: nextOffset ${batch.nextOffset} is below fromOffset ${batch.fromOffset}`,
    );
  }
}
