import { describe, expect, it } from 'vitest';
import { LIVE_SCORES_SINK, userActor } from '../../../src/actors/user/user-actor.ts';
import { DEFAULT_MODEL } from '../../../src/analytics/default-model.ts';
import { emptyUserState, resolveUserFeatureConfig } from '../../../src/analytics/user-features.ts';
import type { IngestedEvent } from '../../../src/contract/event.ts';
import type { Effect } from '../../../src/runtime/actor.ts';

const actor = userActor({ features: resolveUserFeatureConfig() }, { model: () => DEFAULT_MODEL, graph: () => undefined });
const ctx = { key: 'u1', partition: 0, offset: '0', watermarkMs: 0 };

function event(n: number, extra: Partial<IngestedEvent> = {}): IngestedEvent {
  return {
    event_id: `e${n}`,
    ts_ms: 1_767_225_600_000 + n * 60_000,
    user_id: 'u1',
    merchant_id: `m${n % 3}`,
    amount: 10 + n,
    currency: 'EUR',
    country: 'FR',
    device_id: `d${n % 2}`,
    status: 'captured',
    ingest_received_ms: 1_767_225_600_000 + n,
    ...extra,
  } as IngestedEvent;
}

describe('user actor effects', () => {
  it('serialises the score once: every upsert carries the JSON of its row, the emits are that JSON', () => {
    let state = emptyUserState();
    // a burst of failures from a new country pushes the score up to an alert
    const events = [event(1), event(2), event(3), ...[4, 5, 6, 7, 8].map((n) => event(n, { status: 'failed', country: 'NG', device_id: `x${n}`, amount: 5000 }))];
    let alerts = 0;
    for (const e of events) {
      const { state: next, effects } = actor.handle(state, e, ctx);
      state = next;
      const upserts = effects.filter((x): x is Extract<Effect, { type: 'upsert' }> => x.type === 'upsert');
      const emits = effects.filter((x): x is Extract<Effect, { type: 'emit' }> => x.type === 'emit');
      // The Cassandra history is written from risk.scores (history pipeline), not from here.
      expect(upserts.map((u) => u.sink)).toEqual([LIVE_SCORES_SINK]);
      // Every score effect goes out before the commit, none through the outbox.
      for (const x of effects) expect(x).toMatchObject({ beforeCommit: true });
      const row = upserts[0]!.row;
      expect(row.event_id).toBe(e.event_id);
      for (const u of upserts) {
        expect(u.row).toBe(row);
        expect(u.json).toBe(JSON.stringify(row));
      }
      expect(emits[0]).toMatchObject({ topic: 'risk.scores', key: 'u1' });
      for (const m of emits) expect(m.value).toBe(upserts[0]!.json);
      if (row.decision !== 'allow') {
        alerts += 1;
        expect(emits.map((m) => m.topic)).toEqual(['risk.scores', 'risk.alerts']);
      } else {
        expect(emits).toHaveLength(1);
      }
    }
    expect(alerts).toBeGreaterThan(0);
  });
});
