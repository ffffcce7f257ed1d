/**
 * The input port: what the host needs from a partitioned log. The Kafka adapter implements the
 * driving side (it calls the host); tests drive the host directly with arrays of records.
 */
export interface InputRecord {
  readonly partition: number;
  /** Kafka offsets are decimal strings; they stay below 2^53 in practice and compare as numbers. */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** What a batch handler tells the driver to do next. */
export type BatchOutcome =
  /**
   * Processed up to and including `lastOffset` (null: nothing new in this batch). `held`: the
   * task stopped early for event-time alignment; `waitMs` (set by the host for the driver):
   * pause the partition that long, then fetch the rest again.
   */
  | { readonly kind: 'processed'; readonly lastOffset: string | null; readonly held?: boolean; readonly waitMs?: number }
  /** Durable position differs from the fetch position: re-fetch from `offset`. */
  | { readonly kind: 'seek'; readonly offset: string }
  /** This worker no longer owns the partition (fenced): drop the batch, do not commit. */
  | { readonly kind: 'lost' };

/**
 * The driver's liveness signal to its group coordinator (kafkajs `heartbeat()` of an eachBatch
 * payload). The mailboxes call it while an offer waits for room; it must be cheap to call often
 * (kafkajs throttles it by its heartbeat interval).
 */
export type Heartbeat = () => Promise<void>;

/** Pause/resume hooks the driver hands to the host for backpressure. */
export interface FlowControl {
  pause(partition: number): void;
  resume(partition: number): void;
}

export function offsetNumber(offset: string): number {
  return Number(offset);
}

export function nextOffsetOf(offset: string): string {
  return String(Number(offset) + 1);
}
