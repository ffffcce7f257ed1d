import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { LiveScoreReader, LiveScoreSink } from '../../src/adapters/redis/live-scores.ts';
import type { OutputEffect } from '../../src/runtime/actor.ts';
import { testConfig, uniqueName } from '../support/services.ts';

// Live scores on the local Redis: every event readable by id, each user's latest by event time,
// however the scores are spread over drains and however often a drain is repeated.
describe('LiveScoreSink on the local stack', () => {
  const config = testConfig();
  const prefix = uniqueName('it_live');
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
  const sink = new LiveScoreSink(redis, prefix);
  const reader = new LiveScoreReader(redis, prefix);
  const score = (user: string, id: string, ts: number): OutputEffect => ({
    type: 'upsert', sink: 'live_scores', row: { event_id: id, user_id: user, merchant_id: 'm1', ts_ms: ts, score: ts / 1e4 },
  });

  afterAll(async () => {
    await unlinkByPrefix(redis, prefix);
    await redis.quit();
  });

  it('keeps the latest score per user by (ts_ms, event_id) within and across drains', async () => {
    await sink.perform([score('u1', 'e2', 2_000), score('u1', 'e3', 3_000), score('u1', 'e1', 1_000), score('u2', 'b', 5_000), score('u2', 'a', 5_000)]);
    expect(await reader.latestForUser('u1')).toMatchObject({ event_id: 'e3' });
    expect(await reader.latestForUser('u2')).toMatchObject({ event_id: 'b' });
    await sink.perform([score('u1', 'e0', 500), score('u2', 'c', 5_000)]); // older for u1, a tie won by the id for u2
    expect(await reader.latestForUser('u1')).toMatchObject({ event_id: 'e3' });
    expect(await reader.latestForUser('u2')).toMatchObject({ event_id: 'c' });
    for (const id of ['e0', 'e1', 'e2', 'e3', 'a', 'b', 'c']) expect(await reader.forEvent(id)).toMatchObject({ event_id: id });
    expect(await redis.ttl(`${prefix}:live:user:u1`)).toBeGreaterThan(0);
  });

  it('stores the JSON a row carries as is (the user actor\'s rows), ordered by the row\'s keys', async () => {
    const json = (id: string, ts: number) => JSON.stringify({ event_id: id, user_id: 'u9', merchant_id: 'm1', ts_ms: ts, score: 0.5, features: { amount: 1 } });
    const row = (id: string, ts: number): OutputEffect => ({ type: 'upsert', sink: 'live_scores', row: { user_id: 'u9', event_id: id, ts_ms: ts, json: json(id, ts) } });
    await sink.perform([row('j2', 2_000), row('j1', 1_000)]);
    expect(await redis.get(`${prefix}:live:user:u9`)).toBe(json('j2', 2_000));
    expect(await redis.get(`${prefix}:live:event:j1`)).toBe(json('j1', 1_000));
    await sink.perform([score('u9', 'j0', 500)]); // an older record-shaped row does not win
    expect(await reader.latestForUser('u9')).toMatchObject({ event_id: 'j2', features: { amount: 1 } });
  });
});
