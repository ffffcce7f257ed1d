import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { type ActorType, type EmitEffect, erase, type OutputEffect, type Pipeline, rekeyer, type UpsertEffect } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import type { EffectSink } from '../../../src/runtime/sink.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { CommitBatch, CommitResult } from '../../../src/runtime/store.ts';
import { type CountState, countingActor, type Msg, testPipeline } from '../../support/counting-actor.ts';
import { expectedCounts, makeStream, toRecords } from '../../support/stream.ts';

const LATENESS = 120_000;
const TOPIC = 'test.by-value';

/** One log of what happened, in order: sink calls and commits. */
type Log = string[];

class LoggingStore extends MemoryStateStore {
  outboxEffects: OutputEffect[] = [];
  failCommits = 0;
  constructor(private readonly log: Log) {
    super();
  }
  override async commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.failCommits > 0) {
      this.failCommits -= 1;
      this.log.push(`commit-failed ${batch.fromOffset}`);
      throw new Error('store unavailable (injected)');
    }
    const result = await super.commit(batch);
    if (result.ok) {
      this.log.push(`commit ${batch.fromOffset}-${batch.nextOffset}`);
      this.outboxEffects.push(...batch.effects);
    }
    return result;
  }
}

class LoggingSink extends MemorySink {
  constructor(private readonly log: Log) {
    super();
  }
  override async perform(effects: readonly OutputEffect[]): Promise<void> {
    const rekeyed = effects.filter((e) => e.type === 'emit' && e.topic === TOPIC).length;
    if (rekeyed > 0) this.log.push(`rekeyed ${rekeyed}`);
    await super.perform(effects);
  }
}

/** A host over `pipeline` with slices of 100 records. */
function hostOf(pipeline: Pipeline<Msg>, store: LoggingStore, sink: EffectSink): ActorHost<Msg> {
  return new ActorHost<Msg>({
    pipeline, group: 'g', topic: 'test.input', store, sink, clock: () => 1_800_000_000_000,
    settings: { allowedLatenessMs: LATENESS, handlerRetries: 1, maxBatchRecords: 100, idlePartitionMs: 1_000, maxActiveActors: 1_000 },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
}

function setUp(log: Log) {
  const store = new LoggingStore(log);
  const sink = new LoggingSink(log);
  const host = hostOf(testPipeline([erase(countingActor), rekeyer<Msg>('rekey', TOPIC, (m) => String(m.v % 7), (m) => JSON.stringify(m))]), store, sink);
  return { store, sink, host };
}

describe('beforeCommit emits (re-keying)', () => {
  const stream = makeStream({ seed: 9, events: 1_000, keys: 50, partitions: 1, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000 });
  const records = toRecords(0, stream.get(0)!);
  const expected = expectedCounts(stream, LATENESS);
  const accepted = records.length - expected.duplicates - expected.late;

  it('are performed before their commit and never stored in the outbox', async () => {
    const log: Log = [];
    const { store, sink, host } = setUp(log);
    await host.onAssignment([0]);
    const outcome = await host.handleBatch(0, records);
    expect(outcome.kind).toBe('processed');
    await host.stop();
    // Slices of 100: each commit is preceded by that slice's re-keyed emits.
    const commits = log.filter((l) => l.startsWith('commit '));
    expect(commits).toHaveLength(records.length / 100);
    for (const [i, line] of log.entries()) if (line.startsWith('commit ')) expect(log[i - 1]).toMatch(/^rekeyed \d+$/);
    expect(store.outboxEffects.filter((e) => e.type === 'emit' && e.topic === TOPIC)).toHaveLength(0);
    const rekeyed = sink.performed.filter((e): e is EmitEffect => e.type === 'emit' && e.topic === TOPIC);
    // Exactly the accepted events (no duplicates, no late ones), once each on a clean run.
    expect(rekeyed).toHaveLength(accepted);
    expect(new Set(rekeyed.map((e) => (JSON.parse(e.value) as Msg).id)).size).toBe(accepted);
  });

  it('are emitted again when the commit fails (at least once), and the state stays exact', async () => {
    const log: Log = [];
    const { store, sink, host } = setUp(log);
    store.failCommits = 1;
    await host.onAssignment([0]);
    await expect(host.handleBatch(0, records)).rejects.toThrow('injected');
    // The driver retries the batch (the host re-claims from the durable position).
    expect((await host.handleBatch(0, records)).kind).toBe('processed');
    await host.stop();
    const rekeyed = sink.performed.filter((e): e is EmitEffect => e.type === 'emit' && e.topic === TOPIC);
    const ids = rekeyed.map((e) => (JSON.parse(e.value) as Msg).id);
    // The first slice's emits went out twice; every accepted event at least once.
    expect(new Set(ids).size).toBe(accepted);
    expect(ids.length).toBeGreaterThan(accepted);
    expect(log[0]).toMatch(/^rekeyed \d+$/);
    expect(log[1]).toBe('commit-failed 0');
    const counts = new Map<string, number>();
    for (const key of expected.counts.keys()) {
      const [raw] = await store.loadStates({ group: 'g', topic: 'test.input', partition: 0 }, [`counter\u0000${key}`]);
      counts.set(key, (JSON.parse(raw!.slice(raw!.indexOf(':') + 1)) as { count: number }).count);
    }
    expect(counts).toEqual(new Map([...expected.counts].map(([k, v]) => [k, v.count])));
  });
});

describe('beforeCommit upserts', () => {
  /** Counts per key; its live row goes out before the commit, its history row through the outbox. */
  const liveCounter: ActorType<CountState, Msg> = {
    ...countingActor,
    name: 'live',
    handle: (state, m) => {
      const next = { count: state.count + 1, sum: state.sum + m.v };
      const row = { key: m.k, id: m.id, count: next.count };
      return {
        state: next,
        effects: [
          { type: 'upsert', sink: 'live', row, beforeCommit: true },
          { type: 'upsert', sink: 'history', row },
        ],
      };
    },
  };
  const stream = makeStream({ seed: 4, events: 600, keys: 20, partitions: 1, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0, lateByMs: 0 });
  const records = toRecords(0, stream.get(0)!);
  const expected = expectedCounts(stream, LATENESS);
  const accepted = records.length - expected.duplicates;

  function setUpLive(log: Log) {
    const store = new LoggingStore(log);
    const sink = new (class extends MemorySink {
      override async perform(effects: readonly OutputEffect[]): Promise<void> {
        const live = effects.filter((e) => e.type === 'upsert' && e.sink === 'live').length;
        if (live > 0) log.push(`live ${live}`);
        await super.perform(effects);
      }
    })();
    return { store, sink, host: hostOf(testPipeline([erase(liveCounter)]), store, sink) };
  }

  const upserts = (effects: readonly OutputEffect[], name: string) =>
    effects.filter((e): e is UpsertEffect => e.type === 'upsert' && e.sink === name);

  it('go out before their commit, stay out of the outbox, and carry the committed count', async () => {
    const log: Log = [];
    const { store, sink, host } = setUpLive(log);
    await host.onAssignment([0]);
    expect((await host.handleBatch(0, records)).kind).toBe('processed');
    await host.stop();
    const commits = log.filter((l) => l.startsWith('commit '));
    expect(commits).toHaveLength(records.length / 100);
    for (const [i, line] of log.entries()) if (line.startsWith('commit ')) expect(log[i - 1]).toMatch(/^live \d+$/);
    expect(upserts(store.outboxEffects, 'live')).toHaveLength(0);
    expect(upserts(store.outboxEffects, 'history')).toHaveLength(accepted);
    const live = upserts(sink.performed, 'live');
    expect(live).toHaveLength(accepted);
    // The last live row of each key carries that key's final count (oracle: the stream).
    const last = new Map(live.map((e) => [e.row.key as string, e.row.count as number]));
    expect(last).toEqual(new Map([...expected.counts].map(([k, v]) => [k, v.count])));
  });

  it('are performed again for a batch whose commit failed, with the same rows', async () => {
    const log: Log = [];
    const { store, sink, host } = setUpLive(log);
    store.failCommits = 1;
    await host.onAssignment([0]);
    await expect(host.handleBatch(0, records)).rejects.toThrow('injected');
    expect((await host.handleBatch(0, records)).kind).toBe('processed');
    await host.stop();
    const live = upserts(sink.performed, 'live');
    // The first slice went out twice (100 records less its duplicates), identical both times.
    const firstSlice = live.length - accepted;
    expect(firstSlice).toBeGreaterThan(90);
    expect(firstSlice).toBeLessThanOrEqual(100);
    expect(live.slice(0, firstSlice)).toEqual(live.slice(firstSlice, 2 * firstSlice));
    expect(upserts(store.outboxEffects, 'history')).toHaveLength(accepted);
  });
});
