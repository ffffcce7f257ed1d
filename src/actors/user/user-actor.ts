import { type RiskModel, score } from '../../analytics/model.ts';
import {
  emptyUserState,
  type GraphContext,
  observeUserEvent,
  type UserFeatureConfig,
  type UserState,
} from '../../analytics/user-features.ts';
import type { IngestedEvent } from '../../contract/event.ts';
import type { ActorType, Effect, Transition } from '../../runtime/actor.ts';
import { userStateCodec } from './user-state-codec.ts';

/**
 * Read-only capabilities the user actor is given. They return immutable snapshots that the
 * worker swaps when a new model version is promoted or a graph rebuild lands, so scoring picks
 * them up without a restart. Each score records the model version it used.
 */
export interface ScoringContext {
  model(): RiskModel;
  graph(userId: string): GraphContext | undefined;
}

export interface UserActorConfig {
  readonly features: UserFeatureConfig;
}

export const LIVE_SCORES_SINK = 'live_scores';

/** One score as published and stored (risk.scores value, live score, Cassandra history rows). */
export type ScoreRecord = {
  readonly event_id: string;
  readonly user_id: string;
  readonly merchant_id: string;
  readonly ts_ms: number;
  readonly ingest_received_ms: number;
  readonly score: number;
  readonly decision: 'allow' | 'review' | 'block';
  readonly reasons: readonly string[];
  readonly features: Readonly<Record<string, number>>;
  readonly model_version: string;
};

/**
 * The user actor: one per user_id, fed by payments.events.by-user. For every accepted event it
 * updates the user's rolling features (velocity, novelty, amount z-score, failure streak), scores
 * the event with the current logistic-regression model and returns the score as effects: the
 * live score in Redis, `risk.scores`, and `risk.alerts` when the decision is not `allow`. The
 * Cassandra history is written from risk.scores by the history pipeline (actors/history).
 */
export function userActor(config: UserActorConfig, scoring: ScoringContext): ActorType<UserState, IngestedEvent> {
  return {
    name: 'user',
    keyOf: (e) => e.user_id,
    initialState: () => emptyUserState(),
    codec: userStateCodec,
    handle: (state, event): Transition<UserState> => {
      const features = observeUserEvent(state, event, config.features, scoring.graph(event.user_id));
      const result = score(scoring.model(), features);
      const record: ScoreRecord = {
        event_id: event.event_id,
        user_id: event.user_id,
        merchant_id: event.merchant_id,
        ts_ms: event.ts_ms,
        ingest_received_ms: event.ingest_received_ms,
        score: result.score,
        decision: result.decision,
        reasons: result.reasons.map((r) => r.code),
        features,
        model_version: result.modelVersion,
      };
      // Serialised once: the emits carry it, and the upsert passes it on (`json`) so the live
      // score sink does not serialise it again.
      const value = JSON.stringify(record);
      // All before the commit (actor.ts, BeforeCommit): every sink is idempotent (newer-wins
      // live score, consumers of risk.scores and risk.alerts drop repeats by event_id) and the
      // score is a function of the stored state and the event. The score is visible one commit
      // earlier, and the outbox no longer carries each record (~0.7 KB) into Redis and back.
      // risk.scores is durable before the commit, so the history written from it (by the
      // history pipeline) misses no committed score.
      const effects: Effect[] = [
        { type: 'upsert', sink: LIVE_SCORES_SINK, row: record, json: value, beforeCommit: true },
        { type: 'emit', topic: 'risk.scores', key: event.user_id, value, beforeCommit: true },
      ];
      if (record.decision !== 'allow') effects.push({ type: 'emit', topic: 'risk.alerts', key: event.user_id, value, beforeCommit: true });
      return { state, effects };
    },
  };
}
