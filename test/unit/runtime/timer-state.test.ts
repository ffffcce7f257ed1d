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

/**
 * A timer fires on the state of its actor even when that state is neither in the batch nor in
 * memory (a new owner after a restart or rebalance, a passivated actor, an idle advance). Before
 * the fix the actor got its initial state: its data was lost and the empty state written back
 * (found by the e2e test: the last merchant windows missing after a worker rejoined the group).
 */
describe('timers of actors not in memory', () => {
  let now = 1_800_000_000_000;
  const emitted = (sink: MemorySink) =>
    sink.performed.flatMap((e) => (e.type === 'emit' && e.topic === 'buckets' ? [`${e.key}=${e.value}`] : []));

  function host(store: MemoryStateStore, sink: MemorySink, idleMs = 60_000) {
    return new ActorHost<Msg>({
      pipeline: testPipeline([erase(bucketActor)]), group: 'g', topic: 'in', store, sink, clock: () => now,
      settings: { allowedLatenessMs: 60_000, handlerRetries: 0, maxBatchRecords: 100, idlePartitionMs: idleMs, maxActiveActors: 100 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
  }

  it('loads the state of a due timer in a batch of other keys, after a new claim', async () => {
    const store = new MemoryStateStore();
    const first = host(store, new MemorySink());
    await first.onAssignment([0]);
    await first.handleBatch(0, toRecords(0, [{ id: 'a', k: 'x', ts: 1_000, v: 1 }, { id: 'b', k: 'x', ts: 2_000, v: 1 }]));
    const sink = new MemorySink();
    const second = host(store, sink); // a new owner: nothing in memory
    await second.onAssignment([0]);
    await second.handleBatch(0, toRecords(0, [{ id: 'c', k: 'y', ts: 200_000, v: 1 }], 2));
    expect(emitted(sink)).toEqual(['x:0=2']);
  });

  it('loads the state of a due timer in an idle advance', async () => {
    const store = new MemoryStateStore();
    const first = host(store, new MemorySink());
    await first.onAssignment([0, 1]);
    await first.handleBatch(0, toRecords(0, [{ id: 'a', k: 'x', ts: 1_000, v: 1 }]));
    await first.handleBatch(1, toRecords(1, [{ id: 'b', k: 'y', ts: 300_000, v: 1 }]));
    const sink = new MemorySink();
    const second = host(store, sink); // a new owner: nothing in memory
    await second.onAssignment([0, 1]);
    now += 120_000; // partition 0 is quiet, partition 1's watermark is past x's timer
    await second.tickIdle();
    expect(emitted(sink)).toEqual(['x:0=1']);
  });
});
