import { afterAll, describe, expect, it } from 'vitest';
import { RedisGraphStore } from '../../src/adapters/redis/graph-store.ts';
import type { GraphContext } from '../../src/analytics/user-features.ts';
import { generateTraffic, generatorOptions } from '../../src/generator/generate.ts';
import { TopicBase } from '../../src/provision/topics.ts';
import { userDeviceComponents } from '../support/graph-oracle.ts';
import { eventually } from '../support/services.ts';
import { killAllWorkers } from '../support/worker-process.ts';
import { PipelineWorld } from './support/world.ts';

const LATENESS_MS = 20 * 60_000;
const CATCH_UP_MS = 120_000;
const HOUR = 3_600_000;

interface Score {
  event_id: string;
  user_id: string;
  features: Record<string, number>;
}

/**
 * The batch graph rebuild reaches scoring: a user worker scores with the graph snapshot current
 * in Redis when it starts (every score's graph features equal the snapshot's context of its
 * user, or the defaults), and swaps to a newly published snapshot without a restart.
 */
describe('e2e: graph features from the batch rebuild in the scores', () => {
  afterAll(killAllWorkers);

  it('scores with the current snapshot and picks up the next one without a restart', async () => {
    const options = { allowedLatenessMs: LATENESS_MS, duplicateRate: 0, outOfOrderRate: 0, lateRate: 0, periodMs: 2 * HOUR };
    const first = generateTraffic(generatorOptions({ seed: 'e2e-graph-1', events: 3_000, ...options }));
    // Ten minutes of event time (under the allowed lateness), after everything of the first
    // traffic (its planted patterns run past its two hours, to ~04:00): nothing is late.
    const start2 = Date.UTC(2026, 0, 1, 6);
    const generated2 = generateTraffic(generatorOptions({ seed: 'e2e-graph-2', events: 3_000, ...options, startMs: start2 }));
    const second = { ...generated2, emissions: generated2.emissions.filter((e) => e.event.ts_ms < start2 + 10 * 60_000) };
    const world = new PipelineWorld(LATENESS_MS);
    const store = new RedisGraphStore(world.redis, world.keyPrefix);
    // Snapshot 1: the shared-device components of the first traffic, a ring score per component
    // size that no default could produce.
    const snapshot1: Record<string, GraphContext> = {};
    for (const [u, members] of userDeviceComponents(first.emissions.map((e) => e.event))) {
      if (members.length > 1) snapshot1[u] = { ringScore: 0.01 * members.length + 0.003, componentSize: members.length };
    }
    expect(Object.keys(snapshot1).length).toBeGreaterThan(3);
    let passed = false;
    try {
      await world.setUp();
      await store.publish({ id: 's1', builtAtMs: 1, contexts: snapshot1, neighbours: {}, summary: {} });
      expect(await world.produce(first, 0)).toBe(first.emissions.length);
      const merchant = world.startWorker('merchant');
      const user = world.startWorker('user', { RISKSTREAM_CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' });
      await Promise.all([merchant.waitRunning(), user.waitRunning()]);
      await world.waitCaughtUp('merchant', CATCH_UP_MS);
      await world.waitCaughtUp('user', CATCH_UP_MS);

      const scores = async () => [...(await world.readTopic(TopicBase.scores)).values()].flat().map((r) => JSON.parse(r.value) as Score);
      // Scores go out from the outbox after their commit: wait for all of them.
      const scoresOf = async (ids: Set<string>) => {
        let found: Score[] = [];
        await eventually(async () => {
          found = (await scores()).filter((s) => ids.has(s.event_id));
          return new Set(found.map((s) => s.event_id)).size === ids.size;
        }, 30_000, 500);
        return found;
      };
      const firstIds = new Set(first.emissions.map((e) => e.event.event_id));
      const firstScores = await scoresOf(firstIds);
      expect(new Set(firstScores.map((s) => s.event_id)).size).toBe(firstIds.size);
      let inRings = 0;
      for (const s of firstScores) {
        const c = snapshot1[s.user_id];
        if (c) inRings += 1;
        expect([s.features.graph_ring_score, s.features.graph_component_size], s.event_id).toEqual([c?.ringScore ?? 0, c?.componentSize ?? 1]);
      }
      expect(inRings).toBeGreaterThan(0);

      // Snapshot 2: every user of the second traffic; the worker swaps within its 5 s poll.
      const snapshot2 = Object.fromEntries(second.emissions.map((e) => [e.event.user_id, { ringScore: 0.5, componentSize: 2 }]));
      await store.publish({ id: 's2', builtAtMs: 2, contexts: snapshot2, neighbours: {}, summary: {} });
      expect(await eventually(async () => user.count('graph snapshot swapped') >= 2, 20_000)).toBe(true);
      expect(await world.produce(second, 0)).toBe(second.emissions.length);
      await world.waitCaughtUp('merchant', CATCH_UP_MS);
      await world.waitCaughtUp('user', CATCH_UP_MS);
      const secondIds = new Set(second.emissions.map((e) => e.event.event_id));
      const secondScores = await scoresOf(secondIds);
      expect(new Set(secondScores.map((s) => s.event_id)).size).toBe(secondIds.size);
      for (const s of secondScores) expect([s.features.graph_ring_score, s.features.graph_component_size], s.event_id).toEqual([0.5, 2]);
      expect(user.alive).toBe(true); // no restart
      passed = true;
    } finally {
      await world.tearDown(passed);
    }
  }, 3 * CATCH_UP_MS + 120_000);
});
