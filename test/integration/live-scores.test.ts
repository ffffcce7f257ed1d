import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { LiveScoreReader, LiveScoreSink } from '../../src/adapters/redis/live-scores.ts';
import { createRng } from '../../src/analytics/prng.ts';
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
    for (const p of [prefix, `${prefix}_500`, `${prefix}_2`]) await unlinkByPrefix(redis, p);
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

  it('reports each written score\'s ingest time once the write succeeded, never for a failed write', async () => {
    const seen: number[] = [];
    const at = `${prefix}_visible`;
    const observed = new LiveScoreSink(redis, at, 3600, 2, (received) => void seen.push(received));
    const withIngest = (id: string, received: number): OutputEffect => ({ ...score('v1', id, received), row: { ...(score('v1', id, received) as { row: object }).row, ingest_received_ms: received } } as OutputEffect);
    await observed.perform([withIngest('i1', 1_000), withIngest('i2', 2_000), score('v2', 'no-ingest-time', 3_000)]);
    expect(seen).toEqual([1_000, 2_000]);
    const broken = new Redis(config.redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    const failing = new LiveScoreSink(broken, at, 3600, 2, (received) => void seen.push(received));
    await expect(failing.perform([withIngest('i3', 4_000)])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(seen).toEqual([1_000, 2_000]);
    broken.disconnect();
    await unlinkByPrefix(redis, at);
  });

  // 2 scores per script call: drains cut into several calls, a user's scores spread over them
  it.each([500, 2])('stores every event and each user\'s latest JSON as given, over random drains repeated after a crash (%i scores per call)', async (perCall) => {
    const at = `${prefix}_${perCall}`;
    const sink = new LiveScoreSink(redis, at, 3600, perCall);
    const rng = createRng(7);
    const drains: OutputEffect[][] = [];
    const rows: { event_id: string }[][] = [];
    const all: { user: string; id: string; ts: number; json: string }[] = [];
    for (let d = 0; d < 40; d += 1) {
      const drain: OutputEffect[] = [];
      rows.push([]);
      for (let k = rng.int(6); k >= 0; k -= 1) {
        const user = `r${rng.int(5)}`;
        const id = `x${rng.int(1_000)}`; // ids repeat across users and drains, ties in ts are common
        const ts = 1_000 * rng.int(8);
        const row = { event_id: id, user_id: user, merchant_id: 'm1', ts_ms: ts, score: rng.next() };
        const json = JSON.stringify(row);
        all.push({ user, id, ts, json });
        rows[d]!.push(row);
        // half the effects carry their JSON (as the user actor's do), half leave it to the sink
        drain.push(rng.chance(0.5) ? { type: 'upsert', sink: 'live_scores', row, json } : { type: 'upsert', sink: 'live_scores', row });
      }
      drains.push(drain);
    }
    for (const [d, drain] of drains.entries()) {
      await sink.perform(drain);
      if (d % 3 === 0 && d > 0) await sink.perform(drains[d - 1]!); // a re-drain of the previous round
    }
    // oracle: per event id the last row performed; per user the greatest (ts_ms, event_id) ever
    // performed (random ids can repeat with another row: then any of that user's rows is accepted)
    const byEvent = new Map<string, string>();
    for (let d = 0; d < rows.length; d += 1) {
      for (const row of rows[d]!) byEvent.set(row.event_id, JSON.stringify(row));
      if (d % 3 === 0 && d > 0) for (const row of rows[d - 1]!) byEvent.set(row.event_id, JSON.stringify(row));
    }
    for (const [id, json] of byEvent) expect(await redis.get(`${at}:live:event:${id}`)).toBe(json);
    for (const user of new Set(all.map((s) => s.user))) {
      const mine = all.filter((s) => s.user === user);
      const best = mine.reduce((a, b) => (b.ts > a.ts || (b.ts === a.ts && b.id > a.id) ? b : a));
      const stored = JSON.parse((await redis.get(`${at}:live:user:${user}`)) ?? 'null') as { ts_ms: number; event_id: string };
      expect([stored.ts_ms, stored.event_id]).toEqual([best.ts, best.id]);
      expect(mine.map((s) => s.json)).toContain(JSON.stringify(stored));
    }
    expect(await redis.ttl(`${at}:live:event:${all[0]!.id}`)).toBeGreaterThan(0);
    expect(await redis.ttl(`${at}:live:user:${all[0]!.user}`)).toBeGreaterThan(0);
  });
});
