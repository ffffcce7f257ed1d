import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { erase } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { bucketActor, type Msg, testPipeline } from '../../support/counting-actor.ts';
import { toRecords } from '../../support/stream.ts';

const IDLE_MS = 30_000;
const HOUR = 3_600_000;

/**
 * The idle policy must not mistake a backlogged partition for an idle one. During a catch-up a
 * partition can go unfetched for longer than idlePartitionMs while others are processed; raising
 * its watermark then would dead-letter its whole backlog as late (found by the e2e test: ~1,400
 * events of one partition lost after a worker restart).
 */
describe('idle policy with a backlog', () => {
  let now = 1_800_000_000_000;
  const ends = new Map<number, string>();

  function host(store: MemoryStateStore) {
    return new ActorHost<Msg>({
      pipeline: testPipeline([erase(bucketActor)]), group: 'g', topic: 'in', store, sink: new MemorySink(), clock: () => now,
      settings: { allowedLatenessMs: 60_000, handlerRetries: 0, maxBatchRecords: 100, idlePartitionMs: IDLE_MS, maxActiveActors: 100 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
      endOffsets: async () => ends,
    });
  }

  it('advances a quiet partition only once it has nothing left to read', async () => {
    const h = host(new MemoryStateStore());
    await h.onAssignment([0, 1]);
    await h.handleBatch(0, toRecords(0, [{ id: 'a', k: 'x', ts: 5 * HOUR, v: 1 }]));
    await h.handleBatch(1, toRecords(1, [{ id: 'b', k: 'y', ts: HOUR, v: 1 }]));
    const behind = h.claimed().get(1)!.watermarkMs;
    now += 2 * IDLE_MS;

    ends.set(0, '1').set(1, '500'); // partition 1 has 499 records not fetched yet
    await h.tickIdle();
    expect(h.claimed().get(1)!.watermarkMs).toBe(behind);

    ends.set(1, '1'); // read to its end: idle for real
    await h.tickIdle();
    expect(h.claimed().get(1)!.watermarkMs).toBe(h.claimed().get(0)!.watermarkMs);
  });
});
