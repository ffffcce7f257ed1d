import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { REKEYED_DEDUP_RETENTION_MS } from '../../../src/runtime/partition-task.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { stateId } from '../../../src/runtime/store.ts';
import { type Msg, testPipeline } from '../../support/counting-actor.ts';
import { toRecords } from '../../support/stream.ts';

const LATENESS = 20 * 60_000;
const HOUR = 3_600_000;

/**
 * A re-keyed input (late: 'accept') interleaves upstream partitions that can be hours apart in
 * event time during a replay; an upstream outbox re-drain then republishes a batch whose events
 * are far below this partition's watermark. Those duplicates must still be dropped: their dedup
 * marks live by processing time, not event time (found by test/e2e/pipeline.test.ts).
 */
describe('dedup of a re-keyed input', () => {
  const base = testPipeline();
  const pipeline = { ...base, input: { ...base.input, late: 'accept' as const } };
  let now = 1_800_000_000_000;

  function host(store: MemoryStateStore) {
    return new ActorHost<Msg>({
      pipeline, group: 'g', topic: 'by-key', store, sink: new MemorySink(), clock: () => now,
      settings: { allowedLatenessMs: LATENESS, handlerRetries: 0, maxBatchRecords: 100, idlePartitionMs: 60_000, maxActiveActors: 100 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
  }

  it('drops a republished event hours below the watermark, within the retention', async () => {
    const store = new MemoryStateStore();
    const h = host(store);
    await h.onAssignment([0]);
    const early: Msg = { id: 'a', k: 'user', ts: 0, v: 1 };
    const later: Msg[] = Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, k: 'user', ts: 5 * HOUR + i, v: 10 }));
    await h.handleBatch(0, toRecords(0, [early]));
    await h.handleBatch(0, toRecords(0, later, 1));
    now += REKEYED_DEDUP_RETENTION_MS / 2;
    await h.handleBatch(0, toRecords(0, [early], 6)); // the re-drain's copy
    const [state] = await store.loadStates({ group: 'g', topic: 'by-key', partition: 0 }, [stateId('counter', 'user')]);
    expect(JSON.parse(state!.slice(state!.indexOf(':') + 1))).toEqual({ count: 6, sum: 51 });
  });
});
