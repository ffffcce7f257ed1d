import { afterAll, describe, expect, it } from 'vitest';
import { generateTraffic, generatorOptions } from '../../src/generator/generate.ts';
import { TopicBase } from '../../src/provision/topics.ts';
import { killAllWorkers } from '../support/worker-process.ts';
import { checkRun } from './support/check.ts';
import { type OracleEvent, partitionPass } from './support/oracle.ts';
import { PipelineWorld } from './support/world.ts';

const EVENTS = 4_000;
const LATENESS_MS = 20 * 60_000;
const CATCH_UP_MS = 120_000;

/**
 * A Cassandra outage holds back the merchant's window rows, not the scores
 * (runtime/partition-task.ts, settle): a merchant worker whose Cassandra contact point has
 * nothing listening still processes all of payments.events and re-keys every accepted event, so
 * the user worker scores each one, while the final windows wait in the merchant's outbox (none
 * in Cassandra). A merchant worker that can reach Cassandra then drains that outbox, and the
 * run equals the brute-force oracle: windows, user features, scores, late letters.
 */
describe('e2e: a Cassandra outage under the merchant worker', () => {
  afterAll(killAllWorkers);

  it('scores every event while the merchant worker cannot reach Cassandra; its windows land exactly once it can', async () => {
    const traffic = generateTraffic(
      generatorOptions({
        seed: 'e2e-outage-1', events: EVENTS, periodMs: 2 * 3_600_000, allowedLatenessMs: LATENESS_MS,
        duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01,
      }),
    );
    const world = new PipelineWorld(LATENESS_MS);
    let passed = false;
    try {
      await world.setUp();
      expect(await world.produce(traffic, 0)).toBe(traffic.emissions.length);
      const cut = world.startWorker('merchant', { RISKSTREAM_CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
      const user = world.startWorker('user');
      const history = world.startWorker('history');
      await Promise.all([cut.waitRunning(), user.waitRunning(), history.waitRunning()]);
      await world.waitCaughtUp('merchant', CATCH_UP_MS, false); // its outbox keeps the windows
      await world.waitCaughtUp('user', CATCH_UP_MS);

      const accepted = distinctIds(await world.readTopic(TopicBase.eventsByUser));
      const scored = distinctIds(await world.readTopic(TopicBase.scores));
      const events = await world.readTopic(TopicBase.events);
      const pass = partitionPass(new Map([...events].map(([p, list]) => [p, list.map((r) => ({ partition: p, offset: r.offset, event: JSON.parse(r.value) as OracleEvent }))])), LATENESS_MS);
      expect([...accepted].sort()).toEqual(pass.accepted.map((a) => a.event.event_id).sort());
      expect([...scored].sort()).toEqual([...accepted].sort());
      const waiting = (await world.durable('merchant')).reduce((n, d) => n + d.outbox, 0);
      expect(waiting).toBeGreaterThan(0);
      expect(await world.countRows('SELECT merchant_id FROM merchant_windows')).toBe(0);

      await cut.stop();
      const restored = world.startWorker('merchant');
      await restored.waitRunning();
      await world.waitCaughtUp('merchant', CATCH_UP_MS);
      await world.waitCaughtUp('user', CATCH_UP_MS);
      await world.waitCaughtUp('history', CATCH_UP_MS);
      const check = await checkRun(world);
      expect(check.mismatches).toEqual({});
      expect(check.finalWindows).toBeGreaterThan(EVENTS);
      expect(check.duplicates).toBeGreaterThan(0);
      // merchant.windows got each window while Cassandra was down, and not again at every retry
      // of the rows (sink.ts, performedBy): at most one repeat, from the hand-over of the outbox.
      const windowRecords = [...(await world.readTopic(TopicBase.merchantWindows)).values()].flat();
      const windowKeys = new Set(windowRecords.map((r) => r.key));
      expect(windowKeys.size).toBe(check.finalWindows);
      expect(windowRecords.length).toBeLessThanOrEqual(2 * windowKeys.size);
      expect(check.lateLetters).toBe(check.late);
      passed = true;
    } finally {
      await world.tearDown(passed);
    }
  }, 3 * CATCH_UP_MS + 120_000);
});

function distinctIds(records: Map<number, { value: string }[]>): Set<string> {
  return new Set([...records.values()].flat().map((r) => (JSON.parse(r.value) as { event_id: string }).event_id));
}
