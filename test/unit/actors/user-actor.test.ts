import { describe, expect, it } from 'vitest';
import { LIVE_SCORES_SINK, userActor } from '../../../src/actors/user/user-actor.ts';
import { DEFAULT_MODEL } from '../../../src/analytics/default-model.ts';
import { resolveUserFeatureConfig } from '../../../src/analytics/user-features.ts';
import type { IngestedEvent } from '../../../src/contract/event.ts';
import type { Effect } from '../../../src/runtime/actor.ts';

describe('user actor effects', () => {
  it('carries one score record: the Cassandra rows, the risk.scores value and the live score agree', () => {
    const actor = userActor({ features: resolveUserFeatureConfig() }, { model: () => DEFAULT_MODEL, graph: () => undefined });
    const event: IngestedEvent = {
      event_id: 'e1', ts_ms: Date.UTC(2026, 0, 1), user_id: 'u1', merchant_id: 'm1', amount: 42.5, currency: 'USD',
      status: 'captured', country: 'VN', device_id: 'd1', ingest_received_ms: Date.UTC(2026, 0, 1) + 5,
    };
    const { effects } = actor.handle(actor.initialState('u1'), event, { key: 'u1', partition: 0, offset: '0', watermarkMs: 0 });
    const upsert = (sink: string) => effects.find((e): e is Extract<Effect, { type: 'upsert' }> => e.type === 'upsert' && e.sink === sink)!.row;
    const emitted = effects.find((e): e is Extract<Effect, { type: 'emit' }> => e.type === 'emit' && e.topic === 'risk.scores')!;
    const record = JSON.parse(emitted.value) as Record<string, unknown>;
    expect(record).toMatchObject({ event_id: 'e1', user_id: 'u1', merchant_id: 'm1', ts_ms: event.ts_ms, model_version: DEFAULT_MODEL.version });
    expect(JSON.parse(JSON.stringify(upsert('risk_scores_by_user')))).toEqual(record);
    expect(JSON.parse(JSON.stringify(upsert('risk_scores_by_event')))).toEqual(record);
    expect(upsert(LIVE_SCORES_SINK)).toEqual({ user_id: 'u1', event_id: 'e1', ts_ms: event.ts_ms, json: emitted.value });
  });
});
