import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { stateId } from '../../../src/runtime/store.ts';
import { type CountState, type Msg, testPipeline } from '../../support/counting-actor.ts';
import { expectedCounts, makeStream, toRecords } from '../../support/stream.ts';

const LATENESS = 120_000;

function makeHost(store: MemoryStateStore, registry = new Registry()): ActorHost<Msg> {
  return new ActorHost<Msg>({
    pipeline: testPipeline(), group: 'g', topic: 'test.input', store, sink: new MemorySink(), clock: () => 1_800_000_000_000,
    settings: { allowedLatenessMs: LATENESS, handlerRetries: 1, maxBatchRecords: 500, idlePartitionMs: 1_000, maxActiveActors: 1_000 },
    metrics: createRuntimeMetrics(registry), logger: silentLogger(),
  });
}

/**
 * Found by the zombie fault test (test/fault/zombie.test.ts): a worker frozen past its session
 * rejoins and is assigned partitions it still held a task for, with nothing in flight there.
 * Another worker claimed them meanwhile, so that task's epoch is stale: the rejoined worker
 * must claim again instead of having every commit refused (and the partition stalled).
 */
describe('ActorHost after a rejoin', () => {
  it('claims kept partitions again, so a task with a stale epoch cannot stall them', async () => {
    const stream = makeStream({ seed: 5, events: 3_000, keys: 50, partitions: 1, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000 });
    const records = toRecords(0, stream.get(0)!);
    const store = new MemoryStateStore();
    const a = makeHost(store);
    await a.onAssignment([0]);
    expect((await a.handleBatch(0, records.slice(0, 1_000))).kind).toBe('processed');
    // A is frozen; B gets the partition and moves it on.
    const b = makeHost(store);
    await b.onAssignment([0]);
    expect((await b.handleBatch(0, records.slice(1_000, 2_000))).kind).toBe('processed');
    // A comes back; the group gives it the same partition again (B's assignment moves away).
    await b.onAssignment([]);
    await a.onAssignment([0]);
    expect((await a.handleBatch(0, records.slice(2_000))).kind).toBe('processed');
    const ids = [...new Set(stream.get(0)!.map((m) => m.k))];
    const values = await store.loadStates({ group: 'g', topic: 'test.input', partition: 0 }, ids.map((k) => stateId('counter', k)));
    const counts = new Map(ids.flatMap((k, i) => (values[i] ? [[k, JSON.parse(values[i]!.slice(3)) as CountState] as const] : [])));
    expect(counts).toEqual(expectedCounts(stream, LATENESS).counts);
  });

  it('drops the per-partition gauges of partitions that moved away, keeps those it still owns', async () => {
    const stream = makeStream({ seed: 6, events: 400, keys: 20, partitions: 2, duplicateRate: 0, outOfOrderRate: 0, lateRate: 0, lateByMs: 0 });
    const registry = new Registry();
    const host = makeHost(new MemoryStateStore(), registry);
    await host.onAssignment([0, 1]);
    for (const p of [0, 1]) expect((await host.handleBatch(p, toRecords(p, stream.get(p)!))).kind).toBe('processed');
    const partitionsOf = async (name: string) =>
      ((await registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => String(v.labels.partition)).sort();
    expect(await partitionsOf('riskstream_runtime_watermark_ms')).toEqual(['0', '1']);
    expect(await partitionsOf('riskstream_runtime_event_time_lag_ms')).toEqual(['0', '1']);
    await host.onAssignment([1]);
    expect(await partitionsOf('riskstream_runtime_watermark_ms')).toEqual(['1']);
    expect(await partitionsOf('riskstream_runtime_event_time_lag_ms')).toEqual(['1']);
    await host.stop();
  });
});
