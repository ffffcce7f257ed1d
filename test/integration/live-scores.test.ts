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
});
