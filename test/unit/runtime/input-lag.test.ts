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

/** input_lag_records: end offset minus the durable next offset, per partition held, and gone when the partition moves. */
describe('input lag gauge', () => {
  it('reports what is left after the durable position and drops partitions that moved away', async () => {
    const metrics = createRuntimeMetrics(new Registry());
    const ends = new Map<number, string>([[0, '40'], [1, '7']]);
    const h = new ActorHost<Msg>({
      pipeline: testPipeline([erase(bucketActor)]), group: 'g', topic: 'in', store: new MemoryStateStore(), sink: new MemorySink(), clock: () => 1_800_000_000_000,
      settings: { allowedLatenessMs: 60_000, handlerRetries: 0, maxBatchRecords: 100, idlePartitionMs: 30_000, maxActiveActors: 100 },
      metrics, logger: silentLogger(), endOffsets: async () => ends,
    });
    const lag = async () =>
      Object.fromEntries((await metrics.inputLagRecords.get()).values.map((v) => [v.labels.partition, v.value]));

    await h.onAssignment([0, 1]);
    // Offsets 0..9 of partition 0 and 0..6 of partition 1 processed.
    await h.handleBatch(0, toRecords(0, Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, k: 'x', ts: 1_000 + i, v: 1 }))));
    await h.handleBatch(1, toRecords(1, Array.from({ length: 7 }, (_, i) => ({ id: `b${i}`, k: 'y', ts: 1_000 + i, v: 1 }))));
    await h.reportLag();
    expect(await lag()).toEqual({ '0': 30, '1': 0 });

    ends.set(1, '12');
    await h.onAssignment([1]); // partition 0 moved to another worker
    await h.reportLag();
    expect(await lag()).toEqual({ '1': 5 });
    await h.stop();
  });
});
