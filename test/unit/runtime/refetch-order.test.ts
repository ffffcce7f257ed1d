import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import type { OutputEffect } from '../../../src/runtime/actor.ts';
import type { DeadLetter } from '../../../src/runtime/dead-letter.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { stateId } from '../../../src/runtime/store.ts';
import { type CountState, type Msg, testPipeline } from '../../support/counting-actor.ts';
import { expectedCounts, makeStream, toRecords } from '../../support/stream.ts';

const LATENESS = 120_000;
const REF = { group: 'g', topic: 'test.input', partition: 0 };

/**
 * Found by test/e2e/kafka-restart.test.ts: after kafkajs restarted its consumer (the broker was
 * down), a partition's mailbox held records fetched before the restart and, behind them, the same
 * partition fetched again from Kafka's committed offset, which lags the durable one. The host got
 * one batch whose offsets went back to the start. It stepped the old records again with the
 * current watermark (a late letter for nearly every record already counted) and committed a next
 * offset below the stored one. Records that go back must be dropped: they are in the batch
 * already or below the durable position.
 */
describe('ActorHost with a batch whose offsets go back (a re-fetch behind queued records)', () => {
  // 1 s apart: the stream spans far more than the lateness, so an old record stepped again
  // with the current watermark is late.
  const stream = makeStream({ seed: 11, events: 3_000, keys: 40, partitions: 1, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000, stepMs: 1_000 });
  const records = toRecords(0, stream.get(0)!);
  const expected = expectedCounts(stream, LATENESS);

  async function run(batches: readonly (readonly InputRecord[])[]) {
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const host = new ActorHost<Msg>({
      pipeline: testPipeline(), group: REF.group, topic: REF.topic, store, sink, clock: () => 1_800_000_000_000,
      settings: { allowedLatenessMs: LATENESS, handlerRetries: 1, maxBatchRecords: 500, idlePartitionMs: 1_000, maxActiveActors: 1_000 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
    await host.onAssignment([0]);
    const positions: (string | null)[] = [];
    for (const batch of batches) {
      expect((await host.handleBatch(0, batch)).kind).toBe('processed');
      positions.push((await store.positions([REF]))[0]?.nextOffset ?? null);
    }
    await host.stop();
    const ids = [...new Set(stream.get(0)!.map((m) => m.k))];
    const values = await store.loadStates(REF, ids.map((k) => stateId('counter', k)));
    const counts = new Map(ids.flatMap((k, i) => (values[i] ? [[k, JSON.parse(values[i]!.slice(3)) as CountState] as const] : [])));
    const letters = sink.performed.filter((e: OutputEffect) => e.type === 'emit' && e.topic.includes('late'));
    const letterOffsets = letters.map((e) => (JSON.parse(String((e as { value: unknown }).value)) as DeadLetter).source.offset);
    return { counts, positions, letterOffsets };
  }

  it('applies each record once, never moves the position back, and letters only late records', async () => {
    const { counts, positions, letterOffsets } = await run([
      records.slice(0, 1_500),
      // What was queued before the restart (1,500–1,999), then the re-fetch from offset 0.
      [...records.slice(1_500, 2_000), ...records.slice(0, 1_800)],
      records.slice(1_800),
    ]);
    expect(counts).toEqual(expected.counts);
    expect(positions).toEqual(['1500', '2000', String(records.length)]);
    expect(letterOffsets.length).toBe(expected.late);
    expect(new Set(letterOffsets).size).toBe(expected.late);
  });

  it('gives the same result as the batches in order', async () => {
    const reordered = await run([records.slice(0, 1_000), [...records.slice(1_000, 2_500), ...records.slice(200, 2_600)], records.slice(2_500)]);
    const ordered = await run([records.slice(0, 1_000), records.slice(1_000, 2_600), records.slice(2_600)]);
    expect(reordered.counts).toEqual(ordered.counts);
    expect(reordered.letterOffsets.sort()).toEqual(ordered.letterOffsets.sort());
    expect(reordered.positions).toEqual(['1000', '2600', String(records.length)]);
  });
});
