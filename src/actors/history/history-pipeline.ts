import { type ActorType, erase, jsonCodec, type Pipeline } from '../../runtime/actor.ts';
import type { ScoreRecord } from '../user/user-actor.ts';

export const SCORES_TOPIC = 'risk.scores';

/** Upsert sinks the history writer fills (Cassandra tables, adapters/cassandra/tables.ts). */
export const HISTORY_TABLES = ['risk_scores_by_user', 'risk_scores_by_event'] as const;

/** A risk.scores record as read back: the score and its text as published. */
export interface PublishedScore {
  readonly record: ScoreRecord;
  readonly json: string;
}

const DECISIONS = new Set(['allow', 'review', 'block']);

/**
 * Decodes a risk.scores value (the user actor's ScoreRecord JSON). Throws on anything else, so
 * the host dead-letters it as invalid and the partition goes on.
 */
export function decodePublishedScore(value: Buffer): PublishedScore {
  const json = value.toString('utf8');
  const r = JSON.parse(json) as Partial<Record<keyof ScoreRecord, unknown>> | null;
  const problem =
    r === null || typeof r !== 'object' ? 'not a JSON object'
    : typeof r.event_id !== 'string' || r.event_id === '' ? 'event_id must be a non-empty string'
    : typeof r.user_id !== 'string' || r.user_id === '' ? 'user_id must be a non-empty string'
    : typeof r.merchant_id !== 'string' ? 'merchant_id must be a string'
    : !Number.isSafeInteger(r.ts_ms) ? 'ts_ms must be an integer'
    : typeof r.score !== 'number' || !(r.score >= 0 && r.score <= 1) ? 'score must be a number in [0, 1]'
    : typeof r.decision !== 'string' || !DECISIONS.has(r.decision) ? 'decision must be allow, review or block'
    : !Array.isArray(r.reasons) || !r.reasons.every((x) => typeof x === 'string') ? 'reasons must be an array of strings'
    : r.features === null || typeof r.features !== 'object' || Array.isArray(r.features) ? 'features must be an object'
    : typeof r.model_version !== 'string' ? 'model_version must be a string'
    : undefined;
  if (problem !== undefined) throw new Error(`risk.scores record: ${problem}`);
  return { record: r as ScoreRecord, json };
}

/**
 * Writes each published score to the Cassandra history (by user, and the by-event index). It
 * keeps no state, and its rows are idempotent (the write timestamp is the event's), so it needs
 * no dedup marks: a repeat rewrites the same cells.
 */
const historyWriter: ActorType<null, PublishedScore> = {
  name: 'score-history',
  stateless: true,
  keyOf: (m) => m.record.user_id,
  initialState: () => null,
  codec: jsonCodec<null>(1),
  handle: (state, m) => ({
    state,
    effects: HISTORY_TABLES.map((sink) => ({ type: 'upsert', sink, row: m.record, json: m.json, beforeCommit: true }) as const),
  }),
};

/**
 * risk.scores → Cassandra score history. Why not effects of the user actor, as before: those
 * were performed before each user commit, a Cassandra call per small live batch, and every
 * score waited for Cassandra. At 1,000 events/s the score rows cost Cassandra ~0.27 cores
 * (~135 µs per row, nearly all per request), and a slow or down Cassandra held up the user
 * worker, which now never talks to Cassandra.
 * Kafka already holds every score durably (the user actor publishes it before its commit), so
 * the history is a view of risk.scores, written in large batches (`fetch`: a fetch waits for
 * up to 250 ms of records) and only as far behind as that.
 */
export function historyPipeline(): Pipeline<PublishedScore> {
  return {
    name: 'history',
    input: {
      topic: SCORES_TOPIC, decode: decodePublishedScore, eventTimeOf: (m) => m.record.ts_ms,
      // Scores arrive in by-user order, hours apart in event time during a replay: none is late.
      late: 'accept',
      fetch: { minBytes: 512 * 1024, maxWaitMs: 250 },
    },
    actors: [erase(historyWriter)],
  };
}
