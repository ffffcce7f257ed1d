import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { type ActorType, erase, jsonCodec, type OutputEffect, type Pipeline } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { type EffectSink, RoutingSink } from '../../../src/runtime/sink.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import type { CommitBatch, CommitResult, StateStore } from '../../../src/runtime/store.ts';
import { decodeMsg, type Msg, prng } from '../../support/counting-actor.ts';
import { makeStream, toRecords } from '../../support/stream.ts';

/**
 * The pipelined outbox drain (maxUndrainedCommits > 0): a partition commits its next batches
 * while earlier commits' effects are still being performed. These tests hold it to an oracle
 * computed without the runtime: per partition, every accepted event's effect, in offset order.
 */
const LATENESS = 120_000;
const MAX_UNDRAINED = 3;

/** Emits `<key>:<count after this event>` for every accepted event: order is visible downstream. */
const echoActor: ActorType<{ n: number }, Msg> = {
  name: 'echo',
  keyOf: (m) => m.k,
  initialState: () => ({ n: 0 }),
  codec: jsonCodec(1),
  handle: (state, m, ctx) => ({
    state: { n: state.n + 1 },
    effects: [{ type: 'emit', topic: `out.${ctx.partition}`, key: m.k, value: `${m.k}:${state.n + 1}` }],
  }),
};

/** The echo actor that also upserts each value to the `rows` sink. */
const rowsActor: ActorType<{ n: number }, Msg> = {
  ...echoActor,
  handle: (state, m, ctx) => {
    const value = `${m.k}:${state.n + 1}`;
    return {
      state: { n: state.n + 1 },
      effects: [
        { type: 'emit', topic: `out.${ctx.partition}`, key: m.k, value },
        { type: 'upsert', sink: 'rows', row: { p: ctx.partition, v: value } },
      ],
    };
  },
};

const pipeline: Pipeline<Msg> = {
  name: 'echo',
  input: { topic: 'test.input', decode: decodeMsg, idOf: (m) => m.id, eventTimeOf: (m) => m.ts },
  actors: [erase(echoActor)],
};

const rowsPipeline: Pipeline<Msg> = { ...pipeline, actors: [erase(rowsActor)] };

/** Oracle: per partition, the values emitted in offset order (first occurrence of an id only). */
function expectedEmits(stream: Map<number, Msg[]>): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const [partition, msgs] of stream) {
    const seen = new Set<string>();
    const perKey = new Map<string, number>();
    const out: string[] = [];
    for (const m of msgs) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      const n = (perKey.get(m.k) ?? 0) + 1;
      perKey.set(m.k, n);
      out.push(`${m.k}:${n}`);
    }
    result.set(partition, out);
  }
  return result;
}

/** A sink whose performs take a while (random, seeded) and can be made to fail. */
class SlowSink implements EffectSink {
  readonly performed: OutputEffect[] = [];
  inFlight = 0;
  failNext = 0;
  readonly #rand = prng(11);

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    this.inFlight += 1;
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(this.#rand() * 4)));
      if (this.failNext > 0) {
        this.failNext -= 1;
        throw new Error('slow sink: injected failure');
      }
      this.performed.push(...effects);
    } finally {
      this.inFlight -= 1;
    }
  }

  async close(): Promise<void> {}
}

/** Counts, at each commit, the commits with effects whose outbox entries are not acknowledged. */
class WatchedStore implements StateStore {
  readonly inner = new MemoryStateStore();
  maxUndrainedAtCommit = 0;
  commitsWhileDraining = 0;
  /** Successful commits. */
  commits = 0;
  readonly #lastSeq = new Map<number, number>();
  readonly #acked = new Map<number, number>();
  sink: SlowSink | undefined;

  claim = (ref: Parameters<StateStore['claim']>[0]) => this.inner.claim(ref);
  loadStates = (ref: Parameters<StateStore['loadStates']>[0], ids: readonly string[]) => this.inner.loadStates(ref, ids);
  seen = (ref: Parameters<StateStore['seen']>[0], ids: readonly string[]) => this.inner.seen(ref, ids);
  positions = (refs: Parameters<StateStore['positions']>[0]) => this.inner.positions(refs);
  close = () => this.inner.close();

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const result = await this.inner.commit(batch);
    if (result.ok) this.commits += 1;
    if (result.ok && result.outboxSeq !== null) {
      const p = batch.ref.partition;
      this.#lastSeq.set(p, result.outboxSeq);
      const undrained = result.outboxSeq - (this.#acked.get(p) ?? 0);
      this.maxUndrainedAtCommit = Math.max(this.maxUndrainedAtCommit, undrained);
      // An earlier entry of this partition is still undrained: the commit overlapped a drain.
      // (Not the sink's in-flight count: the host's CoalescingSink starts merged calls on the
      // next event-loop turn, after this all-in-memory store has already committed.)
      if (undrained > 1) this.commitsWhileDraining += 1;
    }
    return result;
  }

  async ackOutbox(ref: Parameters<StateStore['ackOutbox']>[0], epoch: number, uptoSeq: number): Promise<boolean> {
    const ok = await this.inner.ackOutbox(ref, epoch, uptoSeq);
    if (ok) this.#acked.set(ref.partition, Math.max(this.#acked.get(ref.partition) ?? 0, uptoSeq));
    return ok;
  }
}

function makeHost(store: StateStore, sink: EffectSink, maxUndrainedCommits = MAX_UNDRAINED, outboxAckIntervalMs = 0, maxUndrainedEffects?: number, actors = pipeline) {
  return new ActorHost<Msg>({
    pipeline: actors, group: 'g', topic: 'test.input', store, sink, clock: () => 1_800_000_000_000,
    settings: {
      allowedLatenessMs: LATENESS, handlerRetries: 0, maxBatchRecords: 40, idlePartitionMs: 60_000, maxActiveActors: 10_000,
      maxUndrainedCommits, outboxAckIntervalMs, ...(maxUndrainedEffects === undefined ? {} : { maxUndrainedEffects }),
    },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
}

/** Drives a host like Kafka would (seek on request, redelivery after a failure). */
async function drive(host: ActorHost<Msg>, records: InputRecord[], batch: number, failures = { count: 0 }): Promise<void> {
  let position = 0;
  while (position < records.length) {
    const slice = records.slice(position, position + batch);
    try {
      const outcome = await host.handleBatch(slice[0]!.partition, slice);
      if (outcome.kind === 'seek') position = Number(outcome.offset);
      else if (outcome.kind === 'lost') throw new Error('partition lost');
      else position += slice.length;
    } catch (err) {
      if ((err as Error).message === 'partition lost') throw err;
      failures.count += 1; // a failed batch is redelivered from the same position
    }
  }
}

/** Per partition, the emitted values in the order the sink received them. */
function emitsByPartition(effects: readonly OutputEffect[]): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const e of effects) {
    if (e.type !== 'emit') continue;
    const p = Number(e.topic.slice('out.'.length));
    const list = result.get(p) ?? [];
    list.push(e.value);
    result.set(p, list);
  }
  return result;
}

/** Keeps the first occurrence of each value (a re-drain repeats effects already performed). */
function firstOccurrences(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => !seen.has(v) && seen.add(v));
}

const streamOptions = { seed: 5, events: 6_000, keys: 40, partitions: 3, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0, lateByMs: 0 };

describe.each([0, 3])('pipelined outbox drain (acknowledgements at most every %i ms)', (ackMs) => {
  it('overlaps drains with later commits, bounded, and performs every effect once in commit order', async () => {
    const stream = makeStream(streamOptions);
    const store = new WatchedStore();
    const sink = new SlowSink();
    store.sink = sink;
    const host = makeHost(store, sink, MAX_UNDRAINED, ackMs);
    await host.onAssignment([0, 1, 2]);
    await Promise.all([...stream].map(([p, msgs]) => drive(host, toRecords(p, msgs), 200)));
    await host.stop();

    expect(emitsByPartition(sink.performed)).toEqual(expectedEmits(stream));
    // It did pipeline, and never ran more than the bound ahead (+1: the commit being counted).
    expect(store.commitsWhileDraining).toBeGreaterThan(0);
    expect(store.maxUndrainedAtCommit).toBeGreaterThan(1);
    // (With deferred acknowledgements the store also holds performed entries not yet
    // acknowledged; the bound is on what is not performed, pinned in outbox-drain.test.ts.)
    if (ackMs === 0) expect(store.maxUndrainedAtCommit).toBeLessThanOrEqual(MAX_UNDRAINED + 1);
    // Exactly-once state: every key's count equals its accepted events.
    for (const [p, values] of expectedEmits(stream)) {
      const last = new Map(values.map((v) => [v.slice(0, v.indexOf(':')), v]));
      const ids = [...last.keys()].map((k) => `echo\u0000${k}`);
      const states = await store.inner.loadStates({ group: 'g', topic: 'test.input', partition: p }, ids);
      expect(states).toEqual([...last.values()].map((v) => `v1:{"n":${v.slice(v.indexOf(':') + 1)}}`));
    }
  });

  it('keeps order and state across sink failures and a crash with undrained commits', async () => {
    const stream = makeStream({ ...streamOptions, seed: 9 });
    const store = new WatchedStore();
    const sinkA = new SlowSink();
    const hostA = makeHost(store, sinkA, MAX_UNDRAINED, ackMs);
    await hostA.onAssignment([0, 1, 2]);
    // First half on host A, with failing performs along the way (the drain retries them in the
    // background while the partitions go on: no batch fails)...
    const failures = { count: 0 };
    sinkA.failNext = 3;
    await Promise.all(
      [...stream].map(([p, msgs]) => drive(hostA, toRecords(p, msgs).slice(0, Math.floor(msgs.length / 2)), 150, failures)),
    );
    expect(sinkA.failNext).toBe(0);
    expect(failures.count).toBe(0);
    // ...then A "crashes" without draining (its sink stops taking effects), B takes over.
    sinkA.failNext = Number.POSITIVE_INFINITY;
    const sinkB = new SlowSink();
    const hostB = makeHost(store, sinkB, MAX_UNDRAINED, ackMs);
    await hostB.onAssignment([0, 1, 2]);
    await Promise.all([...stream].map(([p, msgs]) => drive(hostB, toRecords(p, msgs), 150)));
    await hostB.stop();
    await hostA.stop();

    // Everything A performed, then everything B performed: repeats allowed (at-least-once
    // effects), but first occurrences are exactly the oracle's effects in offset order.
    const performed = emitsByPartition([...sinkA.performed, ...sinkB.performed]);
    const expected = expectedEmits(stream);
    for (const [p, values] of expected) expect(firstOccurrences(performed.get(p) ?? [])).toEqual(values);
    // B's own effects are in order too (its re-drain of A's outbox came first).
    for (const [p, values] of emitsByPartition(sinkB.performed)) {
      const firsts = firstOccurrences(values);
      const all = expected.get(p)!;
      expect(firsts).toEqual(all.slice(all.length - firsts.length));
    }
  });

  it('while a sink fails, goes on past the commit bound up to the effects bound, then waits; all lands in order once it is back', async () => {
    const stream = makeStream({ ...streamOptions, partitions: 1, events: 2_000 });
    const records = toRecords(0, stream.get(0)!);
    const store = new WatchedStore();
    const sink = new SlowSink();
    const maxEffects = 200; // ~5 batches of 40 records, one effect each
    const host = makeHost(store, sink, MAX_UNDRAINED, ackMs, maxEffects);
    await host.onAssignment([0]);
    sink.failNext = Number.POSITIVE_INFINITY;
    let done = false;
    const failures = { count: 0 };
    const driving = drive(host, records, 40, failures).then(() => (done = true));
    // Wait until the partition stops committing (it reached the effects bound).
    let commits = -1;
    for (let i = 0; i < 100 && store.commits !== commits; i += 1) {
      commits = store.commits;
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(done).toBe(false);
    expect(sink.performed).toEqual([]);
    // Past the commit bound (the sink held back only its outputs), within the effects bound.
    expect(store.maxUndrainedAtCommit).toBeGreaterThan(MAX_UNDRAINED + 1);
    expect(store.maxUndrainedAtCommit).toBeLessThanOrEqual(maxEffects / 30 + 1);
    expect(store.commits).toBeLessThan(records.length / 40 / 2);
    sink.failNext = 0;
    await driving;
    await host.stop();
    expect(failures.count).toBe(0);
    expect(emitsByPartition(sink.performed)).toEqual(expectedEmits(stream));
  });

  it('while one sink fails, the other gets each of its effects once (no repeat at every retry)', async () => {
    const stream = makeStream({ ...streamOptions, partitions: 2, events: 1_500 });
    const store = new WatchedStore();
    const emits = new SlowSink();
    const rows = new SlowSink();
    rows.failNext = 3; // ~0.7 s of backoffs, while the partitions go on committing
    const host = makeHost(store, new RoutingSink(emits, new Map([['rows', rows]])), MAX_UNDRAINED, ackMs, undefined, rowsPipeline);
    await host.onAssignment([0, 1]);
    await Promise.all([...stream].map(([p, msgs]) => drive(host, toRecords(p, msgs), 100)));
    for (let i = 0; i < 200 && rows.performed.length < emits.performed.length; i += 1) await new Promise((r) => setTimeout(r, 20));
    await host.stop();
    expect(rows.failNext).toBe(0);
    const expected = expectedEmits(stream);
    expect(emitsByPartition(emits.performed)).toEqual(expected); // exactly once each, in order
    const upserted = new Map<number, string[]>();
    for (const e of rows.performed) if (e.type === 'upsert') upserted.set(e.row.p as number, [...(upserted.get(e.row.p as number) ?? []), e.row.v as string]);
    for (const [p, values] of expected) expect(firstOccurrences(upserted.get(p) ?? [])).toEqual(values);
  });

  it('stops a partition whose acknowledgement is refused (fenced by a new owner)', async () => {
    const stream = makeStream({ ...streamOptions, partitions: 1, events: 1_000 });
    const records = toRecords(0, stream.get(0)!);
    const store = new WatchedStore();
    const sinkA = new SlowSink();
    const hostA = makeHost(store, sinkA, MAX_UNDRAINED, ackMs);
    await hostA.onAssignment([0]);
    expect((await hostA.handleBatch(0, records.slice(0, 200))).kind).toBe('processed');
    // Another worker claims the partition while A's effects may still be draining.
    const hostB = makeHost(store, new SlowSink(), MAX_UNDRAINED, ackMs);
    await hostB.onAssignment([0]);
    const next = await hostA.handleBatch(0, records.slice(200, 400));
    expect(next.kind).toBe('lost');
    expect(await hostA.handleBatch(0, records.slice(400, 600))).toEqual({ kind: 'lost' });
    await Promise.all([hostA.stop(), hostB.stop()]);
  });
});
