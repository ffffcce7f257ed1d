import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { erase } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { stateId } from '../../../src/runtime/store.ts';
import { bucketActor, type CountState, type Msg, prng, testPipeline } from '../../support/counting-actor.ts';
import { expectedCounts, makeStream, toRecords } from '../../support/stream.ts';

const LATENESS = 120_000;

function makeHost(store: MemoryStateStore, sink: MemorySink, pipeline = testPipeline(), maxActive = 1_000) {
  return new ActorHost<Msg>({
    pipeline, group: 'g', topic: 'test.input', store, sink, clock: () => 1_800_000_000_000,
    settings: { allowedLatenessMs: LATENESS, handlerRetries: 1, maxBatchRecords: 500, idlePartitionMs: 1_000, maxActiveActors: maxActive },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
}

async function readCounts(store: MemoryStateStore, partitions: number[], keys: number): Promise<Map<string, CountState>> {
  const result = new Map<string, CountState>();
  for (const partition of partitions) {
    const ids = Array.from({ length: keys }, (_, i) => stateId('counter', `k${i}`));
    const values = await store.loadStates({ group: 'g', topic: 'test.input', partition }, ids);
    values.forEach((v, i) => {
      if (v) result.set(`k${i}`, JSON.parse(v.slice(v.indexOf(':') + 1)) as CountState);
    });
  }
  return result;
}

/** Drives a host like Kafka would: redelivers from `position` after a restart. */
async function drive(host: ActorHost<Msg>, records: InputRecord[], from: number, batch: number): Promise<number> {
  let position = from;
  while (position < records.length) {
    const slice = records.slice(position, position + batch);
    const outcome = await host.handleBatch(slice[0]!.partition, slice);
    if (outcome.kind === 'seek') position = Number(outcome.offset);
    else if (outcome.kind === 'lost') return position;
    else position += slice.length;
  }
  return position;
}

describe('ActorHost on the memory store', () => {
  const options = { seed: 7, events: 20_000, keys: 300, partitions: 3, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000 };

  it('equals a brute-force pass: duplicates never count, late events are dead-lettered', async () => {
    const stream = makeStream(options);
    const expected = expectedCounts(stream, LATENESS);
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const host = makeHost(store, sink);
    await host.onAssignment([0, 1, 2]);
    for (const [p, msgs] of stream) await drive(host, toRecords(p, msgs), 0, 333);
    const counts = await readCounts(store, [0, 1, 2], options.keys);
    expect(counts).toEqual(expected.counts);
    expect(expected.late).toBeGreaterThan(50);
    expect(expected.duplicates).toBeGreaterThan(500);
    const late = sink.performed.filter((e) => e.type === 'emit' && e.topic === 'dlq.late');
    expect(late).toHaveLength(expected.late);
  });

  it('stays exact across crashes at random points and redelivery from an older offset', async () => {
    const stream = makeStream({ ...options, seed: 11 });
    const expected = expectedCounts(stream, LATENESS);
    const store = new MemoryStateStore();
    const rand = prng(3);
    for (const [p, msgs] of stream) {
      const records = toRecords(p, msgs);
      let kafkaCommitted = 0;
      while (kafkaCommitted < records.length) {
        // A new process each round: fresh host and cache; Kafka redelivers from a committed
        // offset that lags the durable one.
        const host = makeHost(store, new MemorySink(), testPipeline(), 50);
        await host.onAssignment([p]);
        const crashAt = Math.min(records.length, kafkaCommitted + 1 + Math.floor(rand() * 3_000));
        const reached = await drive(host, records.slice(0, crashAt), kafkaCommitted, 1 + Math.floor(rand() * 400));
        kafkaCommitted = Math.max(0, reached - Math.floor(rand() * 500));
        if (reached >= records.length) break;
      }
    }
    expect(await readCounts(store, [...stream.keys()], options.keys)).toEqual(expected.counts);
  });

  it('refuses a fenced zombie and leaves the new owner\u2019s state unchanged', async () => {
    const stream = makeStream({ ...options, partitions: 1, events: 2_000 });
    const records = toRecords(0, stream.get(0)!);
    const store = new MemoryStateStore();
    const zombie = makeHost(store, new MemorySink());
    await zombie.onAssignment([0]);
    await drive(zombie, records.slice(0, 1_000), 0, 200);
    const owner = makeHost(store, new MemorySink());
    await owner.onAssignment([0]);
    const before = await readCounts(store, [0], options.keys);
    const outcome = await zombie.handleBatch(0, records.slice(1_000, 1_200));
    expect(outcome.kind).toBe('lost');
    expect(store.fencedCommits).toBe(1);
    expect(await readCounts(store, [0], options.keys)).toEqual(before);
    // The zombie does not claim the partition back with its next batch.
    expect((await zombie.handleBatch(0, records.slice(1_200, 1_400))).kind).toBe('lost');
    await drive(owner, records, 1_000, 250);
    expect(await readCounts(store, [0], options.keys)).toEqual(expectedCounts(new Map([[0, stream.get(0)!]]), LATENESS).counts);
  });

  it('recovers when a commit was applied but its reply was lost (offset mismatch is not a loss of ownership)', async () => {
    const stream = makeStream({ ...options, partitions: 1, events: 3_000, seed: 21 });
    const records = toRecords(0, stream.get(0)!);
    const store = new MemoryStateStore();
    const commit = store.commit.bind(store);
    let dropReplies = 2;
    store.commit = async (batch) => {
      const result = await commit(batch);
      if (dropReplies > 0 && result.ok) {
        // The client resends after a dropped reply: the second send meets the advanced offset.
        dropReplies -= 1;
        return commit(batch);
      }
      return result;
    };
    const host = makeHost(store, new MemorySink());
    await host.onAssignment([0]);
    let position = 0;
    let failures = 0;
    for (let round = 0; position < records.length && round < 100; round += 1) {
      const slice = records.slice(position, position + 300);
      const outcome = await host.handleBatch(0, slice).catch(() => null);
      if (outcome === null) {
        failures += 1; // Kafka redelivers the same batch
        continue;
      }
      expect(outcome.kind).not.toBe('lost');
      position = outcome.kind === 'seek' ? Number(outcome.offset) : position + slice.length;
    }
    expect(failures).toBe(2);
    expect(await readCounts(store, [0], options.keys)).toEqual(expectedCounts(new Map([[0, stream.get(0)!]]), LATENESS).counts);
  });

  it('dead-letters undecodable records with their bytes and keeps going', async () => {
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const host = makeHost(store, sink);
    await host.onAssignment([0]);
    const good = toRecords(0, [{ id: 'a', k: 'k1', ts: 1_000, v: 5 }]);
    const poison: InputRecord = { partition: 0, offset: '1', key: null, value: Buffer.from('{not json') };
    const after = toRecords(0, [{ id: 'b', k: 'k1', ts: 2_000, v: 7 }], 2);
    await host.handleBatch(0, [...good, poison, ...after]);
    const dlq = sink.performed.filter((e) => e.type === 'emit' && e.topic === 'dlq.invalid');
    expect(dlq).toHaveLength(1);
    const letter = JSON.parse((dlq[0] as { value: string }).value);
    expect(letter).toMatchObject({ code: 'DECODE_FAILED', source: { topic: 'test.input', partition: 0, offset: '1' } });
    expect(Buffer.from(letter.value_b64, 'base64').toString()).toBe('{not json');
    expect(await readCounts(store, [0], 3)).toEqual(new Map([['k1', { count: 2, sum: 12 }]]));
  });

  it('fires event-time timers once, also after a restart in between', async () => {
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const pipeline = testPipeline([erase(bucketActor)]);
    const msgs: Msg[] = [];
    for (let i = 0; i < 600; i += 1) msgs.push({ id: `e${i}`, k: `k${i % 3}`, ts: i * 1_000, v: 1 });
    const records = toRecords(0, msgs);
    const firstSink = new MemorySink();
    const first = makeHost(store, firstSink, pipeline);
    await first.onAssignment([0]);
    await drive(first, records.slice(0, 300), 0, 50);
    const second = makeHost(store, sink, pipeline);
    await second.onAssignment([0]);
    // The first drain after a commit fails: the outbox must survive it, and the partition goes
    // on meanwhile (the drain retries in the background).
    sink.failNext = 1;
    expect((await second.handleBatch(0, records.slice(300, 400))).kind).toBe('processed');
    await drive(second, records, 250, 70); // from before the stored position: skipped up to it
    // Watermark ends at 599 s − 120 s = 479 s: buckets starting at ≤ 419 s are closed, 7 per key.
    const expected: string[][] = [];
    for (let start = 0; start <= 360_000; start += 60_000) for (const k of ['k0', 'k1', 'k2']) expected.push([`${k}:${start}`, '20']);
    const emitted = () => [...firstSink.performed, ...sink.performed].map((e) => (e.type === 'emit' ? [e.key, e.value] : []));
    for (let i = 0; i < 150 && emitted().length < expected.length; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(sink.failNext).toBe(0);
    expect(emitted().sort()).toEqual(expected.sort());
    await second.stop();
  });
});
