import cassandra from 'cassandra-driver';
import type { LookupReader, MerchantStatsOut, StoredScore, UserGraphOut, WindowQuery, WindowRowOut } from '../../api/lookup/ports.ts';
import type { LiveScoreReader } from '../redis/live-scores.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import { decodeFeatureVector } from './feature-vector.ts';

const { Client, types } = cassandra;

/** Driver errors that mean "Cassandra did not answer in time or is not there": worth a retry. */
const UNAVAILABLE_ERRORS = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError']);
/** Server error codes of the same kind: unavailable, overloaded, bootstrapping, read timeout. */
const UNAVAILABLE_CODES = new Set([0x1000, 0x1001, 0x1002, 0x1200]);

/**
 * The lookup API's reads: live scores from Redis first (fresh, cheap), Cassandra history as the
 * fallback for older events; windows and stats from Cassandra with driver-side paging.
 *
 * A store that does not answer (down, frozen, past `readTimeoutMs`) is a retriable
 * STORE_UNAVAILABLE (Redis, from LiveScoreReader) or CASSANDRA_UNAVAILABLE error, which the API answers with 503 and
 * Retry-After; anything else (a bad query is a bug) stays a plain error, a 500.
 */
/** The graph snapshots' read (RedisGraphStore). */
export interface CurrentGraphReader {
  currentUser(userId: string): Promise<{
    id: string;
    builtAtMs: number;
    context: { ringScore: number; componentSize: number };
    component: string | null;
    sharedWith: readonly string[];
  } | null>;
}

export class StoreLookupReader implements LookupReader {
  readonly #client: cassandra.Client;
  readonly #live: LiveScoreReader;
  readonly #graph: CurrentGraphReader;

  constructor(options: {
    contactPoints: readonly string[];
    localDataCenter: string;
    keyspace: string;
    live: LiveScoreReader;
    /** The batch graph rebuild's snapshots (RedisGraphStore). */
    graph: CurrentGraphReader;
    /** The driver's per-request read timeout (its default is 12 s). */
    readTimeoutMs?: number;
  }) {
    this.#client = new Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      keyspace: options.keyspace,
      queryOptions: { consistency: types.consistencies.localOne, prepare: true },
      ...(options.readTimeoutMs === undefined ? {} : { socketOptions: { readTimeout: options.readTimeoutMs } }),
    });
    this.#live = options.live;
    this.#graph = options.graph;
  }

  async userGraph(userId: string): Promise<UserGraphOut | null> {
    const found = await this.#graph.currentUser(userId);
    if (!found) return null;
    return {
      user_id: userId, snapshot_id: found.id, built_at_ms: found.builtAtMs, ring_score: found.context.ringScore,
      component_size: found.context.componentSize, component: found.component, shared_device_users: found.sharedWith,
    };
  }

  async #execute(cql: string, params: unknown[], options?: cassandra.QueryOptions): Promise<cassandra.types.ResultSet> {
    try {
      return await this.#client.execute(cql, params, options);
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      const code = (err as { code?: unknown }).code;
      if (UNAVAILABLE_ERRORS.has(name) || (typeof code === 'number' && UNAVAILABLE_CODES.has(code))) {
        throw new RiskstreamError(ErrorCodes.cassandraUnavailable, err instanceof Error ? err.message : String(err), { retriable: true, cause: err });
      }
      throw err;
    }
  }

  async latestUserScore(userId: string): Promise<StoredScore | null> {
    const live = (await this.#live.latestForUser(userId)) as StoredScore | null;
    if (live) return live;
    const rs = await this.#execute('SELECT * FROM risk_scores_by_user WHERE user_id = ? LIMIT 1', [userId]);
    const row = rs.first();
    return row ? toScore(row) : null;
  }

  async scoreByEvent(eventId: string): Promise<StoredScore | null> {
    const live = (await this.#live.forEvent(eventId)) as StoredScore | null;
    if (live) return live;
    // risk_scores_by_event maps the event to its row in risk_scores_by_user (tables.ts); rows
    // written before that change hold the whole score too, the fallback if that row is gone.
    const byEvent = (await this.#execute('SELECT * FROM risk_scores_by_event WHERE event_id = ?', [eventId])).first();
    if (!byEvent) return null;
    const byUser = (await this.#execute(
      'SELECT * FROM risk_scores_by_user WHERE user_id = ? AND ts_ms = ? AND event_id = ?',
      [byEvent.user_id, byEvent.ts_ms, eventId],
    )).first();
    if (byUser) return toScore(byUser);
    return byEvent.decision == null ? null : toScore(byEvent);
  }

  async merchantWindows(q: WindowQuery): Promise<{ rows: WindowRowOut[]; pageState: string | null }> {
    const cql = 'SELECT merchant_id, window_start, window_end, status, cnt, sum_amount, n_users, final FROM merchant_windows WHERE merchant_id = ? AND window_start >= ? AND window_start < ?';
    const params = [q.merchantId, new Date(q.fromMs), new Date(q.toMs)];
    const pageState = q.pageState === undefined ? undefined : Buffer.from(q.pageState, 'base64url').toString('hex');
    const rows: WindowRowOut[] = [];
    let next: string | null = null;
    // Status is filtered here rather than in CQL: it is a clustering column after window_start.
    const rs = await this.#execute(cql, params, { fetchSize: q.limit, ...(pageState ? { pageState } : {}) });
    for (const r of rs.rows) {
      if (q.status !== undefined && r.status !== q.status) continue;
      rows.push({
        merchant_id: r.merchant_id, window_start: (r.window_start as Date).getTime(), window_end: (r.window_end as Date).getTime(),
        status: r.status, cnt: Number(r.cnt), sum_amount: r.sum_amount, n_users: Number(r.n_users), final: r.final === true,
      });
    }
    if (rs.pageState) next = Buffer.from(rs.pageState, 'hex').toString('base64url');
    return { rows, pageState: next };
  }

  async merchantStats(merchantId: string): Promise<MerchantStatsOut | null> {
    const rs = await this.#execute('SELECT * FROM merchant_stats WHERE merchant_id = ?', [merchantId]);
    const r = rs.first();
    if (!r) return null;
    return {
      merchant_id: r.merchant_id, total_cnt: Number(r.total_cnt), failed_cnt: Number(r.failed_cnt),
      hour_cnt: Number(r.hour_cnt), hour_failed: Number(r.hour_failed), as_of_ms: Number(r.as_of_ms),
    };
  }

  async close(): Promise<void> {
    await this.#client.shutdown();
  }
}

/** Rows written since migration 002 carry `features_v`; older ones the `features` map. */
function toScore(r: cassandra.types.Row): StoredScore {
  let features: Record<string, number> = {};
  if (r.features_v) features = decodeFeatureVector(r.features_v as Buffer);
  else for (const [k, v] of Object.entries((r.features ?? {}) as Record<string, number>)) features[k] = Number(v);
  return {
    event_id: r.event_id, user_id: r.user_id, merchant_id: r.merchant_id, ts_ms: Number(r.ts_ms), score: r.score,
    decision: r.decision, reasons: (r.reasons ?? []) as string[], features, model_version: r.model_version,
  };
}
