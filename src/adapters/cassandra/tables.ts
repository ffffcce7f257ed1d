import { bigintBytes, textListBytes } from './wire-values.ts';
import { encodeFeatureVector } from './feature-vector.ts';

/**
 * How each named upsert sink maps onto a Cassandra table. Every write carries a deterministic
 * `USING TIMESTAMP` taken from the row's event time, so a replay after a crash writes the same
 * cells with the same timestamp (identical rows), and an older value can never overwrite a
 * newer one whatever order the drains happen in.
 */
export interface TableMapping {
  readonly cql: string;
  /** The bound values before the write timestamp, as a new array (the sink appends to it). */
  params(row: Readonly<Record<string, unknown>>): unknown[];
  /** Write timestamp in microseconds. */
  timestampMicros(row: Readonly<Record<string, unknown>>): number;
  /** The row's partition key: rows sharing it can be written as one single-partition batch. */
  partitionKey(row: Readonly<Record<string, unknown>>): string;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
/** A `bigint` or `timestamp` (epoch ms, the same 8 bytes) column's value, pre-encoded (wire-values.ts). */
const big = (v: unknown): Buffer => bigintBytes(num(v));
/** A `list<text>` column's value, pre-encoded (wire-values.ts); absent is null, as before. */
const texts = (v: unknown): Buffer | null => {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new TypeError('a list<text> value must be an array');
  return textListBytes(v as string[]);
};

/** Score features go to the compact `features_v` vector (migration 002, feature-vector.ts). */
const features = (v: unknown): Buffer => encodeFeatureVector((v ?? {}) as Record<string, number>);

export const TABLES: Readonly<Record<string, TableMapping>> = Object.freeze({
  // `updated_at_ms` (migration 001) is not written any more: it was always window_end, which the
  // write timestamp already carries (WRITETIME(cnt) / 1000), and nothing reads it; one cell and
  // one bound value less per window, ~3.5 windows per event in a replay. Older rows keep theirs.
  merchant_windows: {
    cql: 'INSERT INTO merchant_windows (merchant_id, window_start, status, window_end, cnt, sum_amount, n_users, final) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.merchant_id), big(r.window_start), str(r.status), big(r.window_end), big(r.cnt), num(r.sum_amount), big(r.n_users), r.final === true],
    timestampMicros: (r) => num(r.window_end) * 1000,
    partitionKey: (r) => String(r.merchant_id),
  },
  merchant_stats: {
    cql: 'INSERT INTO merchant_stats (merchant_id, total_cnt, failed_cnt, hour_cnt, hour_failed, as_of_ms) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.merchant_id), big(r.total), big(r.failed), big(r.hour_total), big(r.hour_failed), big(r.as_of_ms)],
    timestampMicros: (r) => num(r.as_of_ms) * 1000,
    partitionKey: (r) => String(r.merchant_id),
  },
  risk_scores_by_user: {
    cql: 'INSERT INTO risk_scores_by_user (user_id, ts_ms, event_id, merchant_id, score, decision, reasons, features_v, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.user_id), big(r.ts_ms), str(r.event_id), str(r.merchant_id), num(r.score), str(r.decision), texts(r.reasons), features(r.features), str(r.model_version)],
    timestampMicros: (r) => num(r.ts_ms) * 1000,
    partitionKey: (r) => String(r.user_id),
  },
  // Only the event's key into risk_scores_by_user (the lookup reads the score there): the body
  // is stored once. A score row written twice cost Cassandra two full rows (~250 bytes, 8
  // cells) where the index row is 3 cells; see docs/cassandra-cost.md. Rows written before
  // this carry the whole score as well, which the reader can fall back to.
  risk_scores_by_event: {
    cql: 'INSERT INTO risk_scores_by_event (event_id, user_id, ts_ms) VALUES (?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.event_id), str(r.user_id), big(r.ts_ms)],
    timestampMicros: (r) => num(r.ts_ms) * 1000,
    partitionKey: (r) => String(r.event_id),
  },
});
