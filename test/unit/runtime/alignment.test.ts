import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { EventTimeAlignment, floorOf } from '../../../src/runtime/alignment.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { MIN_TIME_MS, stateId } from '../../../src/runtime/store.ts';
import { type Msg, testPipeline } from '../../support/counting-actor.ts';
import { toRecords } from '../../support/stream.ts';

const NOW = 1_800_000_000_000;
const DRIFT = 60_000;
const T0 = NOW - 48 * 3_600_000; // a replay: two days behind the wall clock

describe('floorOf', () => {
  const ends = new Map([[0, '10'], [1, '10'], [2, '0'], [3, '10']]);
  it('is the lowest position among partitions with input left; caught-up and empty ones do not count', () => {
    const floor = floorOf([0, 1, 2, 3], ends, [
      { nextOffset: '4', maxEventTimeMs: 500 },
      { nextOffset: '10', maxEventTimeMs: 100 }, // caught up
      null, // empty (end 0)
      { nextOffset: '2', maxEventTimeMs: 300 },
    ]);
    expect(floor).toBe(300);
  });
  it('counts a never-committed partition with input as the lowest', () => {
    expect(floorOf([0, 3], ends, [{ nextOffset: '4', maxEventTimeMs: 500 }, null])).toBe(MIN_TIME_MS);
  });
  it('leaves out the asking partition: the slowest one is bounded by the next slowest', () => {
    const positions = [{ nextOffset: '4', maxEventTimeMs: 500 }, { nextOffset: '10', maxEventTimeMs: 1 }, null, { nextOffset: '2', maxEventTimeMs: 300 }];
    expect(floorOf([0, 1, 2, 3], ends, positions, 3)).toBe(500);
    expect(floorOf([0, 1, 2, 3], ends, positions, 0)).toBe(300);
  });
  it('is undefined when everything caught up', () => {
    expect(floorOf([0], ends, [{ nextOffset: '10', maxEventTimeMs: 500 }])).toBeUndefined();
  });
});

describe('EventTimeAlignment.limit', () => {
  const make = (floor: number) =>
    new EventTimeAlignment({
      settings: { maxDriftMs: DRIFT, refreshMs: 0, pauseMs: 10 },
      clock: () => NOW,
      endOffsets: async () => new Map([[0, '10']]),
      positions: async () => [{ nextOffset: '1', maxEventTimeMs: floor }],
      logger: silentLogger(),
    });
  it('is not limited by its own position', async () => {
    expect(await make(T0).limit(0, T0 + 5 * DRIFT)).toBeUndefined();
  });
  it('limits a replaying partition to floor + drift', async () => {
    expect(await make(T0).limit(1, T0 + 5 * DRIFT)).toEqual({ limitMs: T0 + DRIFT, liveFromMs: NOW - DRIFT });
  });
  it('never limits a live partition, nor with a floor near live time', async () => {
    expect(await make(T0).limit(1, NOW - 1_000)).toBeUndefined();
    expect(await make(NOW - DRIFT / 2).limit(1, NOW - 3 * DRIFT)).toBeUndefined();
  });
  it('does not hold anything back when positions cannot be read', async () => {
    const alignment = new EventTimeAlignment({
      settings: { maxDriftMs: DRIFT, refreshMs: 0, pauseMs: 10 }, clock: () => NOW, logger: silentLogger(),
      endOffsets: async () => { throw new Error('kafka down'); }, positions: async () => [],
    });
    expect(await alignment.limit(1, T0)).toBeUndefined();
  });
});

/** Partition p's messages: one every `stepMs` of event time from T0, on 20 keys. */
function partitionStream(p: number, count: number, stepMs: number): Msg[] {
  return Array.from({ length: count }, (_, i) => ({ id: `p${p}-${i}`, k: `k${i % 20}`, ts: T0 + i * stepMs, v: 1 }));
}

function makeHost(store: MemoryStateStore, ends: Map<number, string>) {
  const pipeline = testPipeline();
  return new ActorHost<Msg>({
    pipeline: { ...pipeline, input: { ...pipeline.input, align: true } },
    group: 'g', topic: 'test.input', store, sink: new MemorySink(), clock: () => NOW,
    endOffsets: async () => ends,
    settings: {
      allowedLatenessMs: 3_600_000, handlerRetries: 0, maxBatchRecords: 50, idlePartitionMs: 60_000, maxActiveActors: 10_000,
      alignment: { maxDriftMs: DRIFT, refreshMs: 0, pauseMs: 10 },
    },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
}

describe('ActorHost with event-time alignment (memory store)', () => {
  it('a fast partition never commits beyond the slowest one + drift, and every record is applied once', async () => {
    // Partition 0 covers 10 h of event time, partition 1 the same span in 4x as many records:
    // fetched alternately, partition 0 would run hours ahead without alignment.
    const streams = new Map([[0, partitionStream(0, 600, 60_000)], [1, partitionStream(1, 2_400, 15_000)]]);
    const records = new Map<number, InputRecord[]>([...streams].map(([p, msgs]) => [p, toRecords(p, msgs)]));
    const ends = new Map([...records].map(([p, r]) => [p, String(r.length)]));
    const store = new MemoryStateStore();
    const host = makeHost(store, ends);
    await host.onAssignment([0, 1]);
    const position = new Map([[0, 0], [1, 0]]);
    let waits = 0;
    let maxLead = 0;
    for (let round = 0; round < 10_000 && [...position].some(([p, at]) => at < records.get(p)!.length); round += 1) {
      for (const p of [0, 1]) {
        const all = records.get(p)!;
        const at = position.get(p)!;
        if (at >= all.length) continue;
        const outcome = await host.handleBatch(p, all.slice(at, at + 200));
        if (outcome.kind === 'processed') {
          if (outcome.waitMs !== undefined) waits += 1;
          if (outcome.lastOffset !== null) position.set(p, Number(outcome.lastOffset) + 1);
        }
        // Invariant after every batch: the committed event-time positions of the partitions
        // with input left are within drift (+ one record's step, the progress guarantee).
        const stored = await store.positions([0, 1].map((partition) => ({ group: 'g', topic: 'test.input', partition })));
        const open = stored.filter((s, i) => s && Number(s.nextOffset) < records.get(i)!.length).map((s) => s!.maxEventTimeMs);
        if (open.length === 2) maxLead = Math.max(maxLead, Math.abs(open[0]! - open[1]!));
      }
    }
    expect(position.get(0)).toBe(600);
    expect(position.get(1)).toBe(2_400);
    expect(waits).toBeGreaterThan(0);
    expect(maxLead).toBeLessThanOrEqual(DRIFT + 60_000);
    // Exactly once: each key's count equals the brute-force count over both partitions.
    for (const p of [0, 1]) {
      const msgs = streams.get(p)!;
      const ids = Array.from({ length: 20 }, (_, i) => stateId('counter', `k${i}`));
      const values = await store.loadStates({ group: 'g', topic: 'test.input', partition: p }, ids);
      values.forEach((v, i) => {
        const want = msgs.filter((m) => m.k === `k${i}`).length;
        expect(JSON.parse(v!.slice(v!.indexOf(':') + 1)).count).toBe(want);
      });
    }
  });

  it('without alignment the same drive lets partition 0 run hours ahead (the test can fail)', async () => {
    const store = new MemoryStateStore();
    const pipeline = testPipeline();
    const host = new ActorHost<Msg>({
      pipeline, group: 'g', topic: 'test.input', store, sink: new MemorySink(), clock: () => NOW,
      settings: { allowedLatenessMs: 3_600_000, handlerRetries: 0, maxBatchRecords: 50, idlePartitionMs: 60_000, maxActiveActors: 10_000 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
    await host.onAssignment([0, 1]);
    await host.handleBatch(0, toRecords(0, partitionStream(0, 600, 60_000)).slice(0, 200));
    await host.handleBatch(1, toRecords(1, partitionStream(1, 2_400, 15_000)).slice(0, 200));
    const [a, b] = await store.positions([0, 1].map((partition) => ({ group: 'g', topic: 'test.input', partition })));
    expect(a!.maxEventTimeMs - b!.maxEventTimeMs).toBeGreaterThan(2 * 3_600_000);
  });

  it('live partitions are never held back', async () => {
    const live = Array.from({ length: 100 }, (_, i) => ({ id: `l${i}`, k: 'k', ts: NOW - 10_000 + i, v: 1 }));
    const store = new MemoryStateStore();
    const host = makeHost(store, new Map([[0, '100'], [1, '50']]));
    await host.onAssignment([0, 1]);
    // Partition 1 never committed (the lowest possible floor), yet the live partition 0 goes on.
    const outcome = await host.handleBatch(0, toRecords(0, live));
    expect(outcome).toEqual({ kind: 'processed', lastOffset: '99' });
  });
});
