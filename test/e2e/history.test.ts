import { afterAll, describe, expect, it } from 'vitest';
import { generateTraffic, generatorOptions } from '../../src/generator/generate.ts';
import { TopicBase } from '../../src/provision/topics.ts';
import { killAllWorkers } from '../support/worker-process.ts';
import { PipelineWorld, sleep } from './support/world.ts';

const EVENTS = 3_000;
const LATENESS_MS = 20 * 60_000;
const CATCH_UP_MS = 120_000;

/**
 * The user worker does not need Cassandra (src/actors/history): it runs with a
 * Cassandra contact point where nothing listens and still scores every event (live scores in
 * Redis, risk.scores); the score history stays empty until a history writer runs, which then
 * writes exactly one row per score in both history tables, with the published score.
 */
describe('e2e: scoring without Cassandra, history afterwards', () => {
  afterAll(killAllWorkers);

  it('scores every event while the user worker cannot reach Cassandra; the history writer then fills both tables', async () => {
    const traffic = generateTraffic(
      generatorOptions({
        seed: 'e2e-history-1', events: EVENTS, periodMs: 2 * 3_600_000, allowedLatenessMs: LATENESS_MS,
        duplicateRate: 0, outOfOrderRate: 0, lateRate: 0,
      }),
    );
    const world = new PipelineWorld(LATENESS_MS);
    let passed = false;
    try {
      await world.setUp();
      expect(await world.produce(traffic, 0)).toBe(traffic.emissions.length);
      const merchant = world.startWorker('merchant');
      const user = world.startWorker('user', { RISKSTREAM_CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
      await Promise.all([merchant.waitRunning(), user.waitRunning()]);
      await world.waitCaughtUp('merchant', CATCH_UP_MS);
      await world.waitCaughtUp('user', CATCH_UP_MS);

      const byUser = [...(await world.readTopic(TopicBase.eventsByUser)).values()].flat();
      const accepted = new Set(byUser.map((r) => (JSON.parse(r.value) as { event_id: string }).event_id));
      expect(accepted.size).toBe(EVENTS);
      const published = new Map<string, { user_id: string; ts_ms: number; score: number }>();
      for (const r of [...(await world.readTopic(TopicBase.scores)).values()].flat()) {
        const s = JSON.parse(r.value) as { event_id: string; user_id: string; ts_ms: number; score: number };
        published.set(s.event_id, s);
      }
      expect([...published.keys()].sort()).toEqual([...accepted].sort());
      const live = await world.liveUserScores([...new Set([...published.values()].map((s) => s.user_id))]);
      expect([...live.values()].every((v) => v !== null)).toBe(true);
      await sleep(1_000); // nothing else writes score rows: the table stays empty
      expect(await world.countRows('SELECT event_id FROM risk_scores_by_user')).toBe(0);

      const history = world.startWorker('history');
      await history.waitRunning();
      await world.waitCaughtUp('history', CATCH_UP_MS);
      let rows = 0;
      for await (const row of world.rows('SELECT event_id, user_id, ts_ms, score FROM risk_scores_by_user')) {
        const s = published.get(row.event_id as string);
        expect(s, `row for ${row.event_id}`).toBeDefined();
        expect([row.user_id, Number(row.ts_ms), row.score]).toEqual([s!.user_id, s!.ts_ms, s!.score]);
        rows += 1;
      }
      expect(rows).toBe(published.size);
      expect(await world.countRows('SELECT event_id FROM risk_scores_by_event')).toBe(published.size);
      passed = true;
    } finally {
      await world.tearDown(passed);
    }
  }, 2 * CATCH_UP_MS + 120_000);
});
