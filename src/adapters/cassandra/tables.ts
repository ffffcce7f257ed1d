import { encodeFeatureVector } from './feature-vector.ts';

/**
 * How each named upsert sink maps onto a Cassandra table. Every write carries a deterministic
 * `USING TIMESTAMP` taken from the row's event time, so a replay after a crash writes the same
 * cells with the same timestamp (identical rows), and an older value can never overwrite a
 * newer one whatever order the drains happen in.
 */
export interface TableMapping {
  readonly cql: string;
  params(row: Readonly<Record<string, unknown>>): unknown[];
  /** Write timestamp in microseconds. */
  timestampMicros(row: Readonly<Record<string, unknown>>): number;
  /** The row's partition key: rows sharing it can be written as one single-partition batch. */
  partitionKey(row: Readonly<Record<string, unknown>>): string;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));

/** Score features go to the compact `features_v` vector (migration 002, feature-vector.ts). */
const features = (v: unknown): Buffer => encodeFeatureVector((v ?? {}) as Record<string, number>);

export const TABLES: Readonly<Record<string, TableMapping>> = Object.freeze({
  merchant_windows: {
    cql: 'INSERT INTO merchant_windows (merchant_id, window_start, status, window_end, cnt, sum_amount, n_users, final, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.merchant_id), new Date(num(r.window_start)), str(r.status), new Date(num(r.window_end)), num(r.cnt), num(r.sum_amount), num(r.n_users), r.final === true, num(r.window_end)],
    timestampMicros: (r) => num(r.window_end) * 1000,
    partitionKey: (r) => String(r.merchant_id),
  },
  merchant_stats: {
    cql: 'INSERT INTO merchant_stats (merchant_id, total_cnt, failed_cnt, hour_cnt, hour_failed, as_of_ms) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.merchant_id), num(r.total), num(r.failed), num(r.hour_total), num(r.hour_failed), num(r.as_of_ms)],
    timestampMicros: (r) => num(r.as_of_ms) * 1000,
    partitionKey: (r) => String(r.merchant_id),
  },
  risk_scores_by_user: {
    cql: 'INSERT INTO risk_scores_by_user (user_id, ts_ms, event_id, merchant_id, score, decision, reasons, features_v, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.user_id), num(r.ts_ms), str(r.event_id), str(r.merchant_id), num(r.score), str(r.decision), r.reasons, features(r.features), str(r.model_version)],
    timestampMicros: (r) => num(r.ts_ms) * 1000,
    partitionKey: (r) => String(r.user_id),
  },
  risk_scores_by_event: {
    cql: 'INSERT INTO risk_scores_by_event (event_id, user_id, merchant_id, ts_ms, score, decision, reasons, features_v, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
    params: (r) => [str(r.event_id), str(r.user_id), str(r.merchant_id), num(r.ts_ms), num(r.score), str(r.decision), r.reasons, features(r.features), str(r.model_version)],
    timestampMicros: (r) => num(r.ts_ms) * 1000,
    partitionKey: (r) => String(r.event_id),
  },
});
