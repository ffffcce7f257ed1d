import { describe, expect, it } from 'vitest';
import type { OutputEffect } from '../../../src/runtime/actor.ts';
import { CoalescingSink } from '../../../src/runtime/coalescing-sink.ts';
import { type EffectSink, performedBy, RoutingSink } from '../../../src/runtime/sink.ts';
import { createRng } from '../../../src/analytics/prng.ts';

/** Records every call; calls wait for `release()`; effects whose value is in `poison` make a call fail. */
class RecordingSink implements EffectSink {
  readonly calls: OutputEffect[][] = [];
  readonly performed: OutputEffect[] = [];
  readonly poison = new Set<string>();
  gated = false;
  #gates: (() => void)[] = [];
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    this.calls.push([...effects]);
    if (this.gated) await new Promise<void>((resolve) => this.#gates.push(resolve));
    if (effects.some((e) => e.type === 'emit' && this.poison.has(e.value))) throw new Error('refused');
    this.performed.push(...effects);
  }
  release(): void {
    for (const open of this.#gates.splice(0)) open();
  }
  async close(): Promise<void> {}
}

const emits = (tag: string, n: number): OutputEffect[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'emit', topic: 'out', key: tag, value: `${tag}:${i}` }));
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('CoalescingSink', () => {
  it('merges calls made in one turn into one inner call, each call contiguous and in order', async () => {
    const inner = new RecordingSink();
    const sink = new CoalescingSink(inner);
    await Promise.all([sink.perform(emits('a', 3)), sink.perform(emits('b', 2)), sink.perform(emits('c', 1))]);
    expect(inner.calls).toHaveLength(1);
    expect(inner.calls[0]!.map((e) => (e.type === 'emit' ? e.value : ''))).toEqual(['a:0', 'a:1', 'a:2', 'b:0', 'b:1', 'c:0']);
  });

  it('collects calls made while a flush runs and sends them together after it', async () => {
    const inner = new RecordingSink();
    inner.gated = true;
    const sink = new CoalescingSink(inner);
    const first = sink.perform(emits('a', 1));
    await tick();
    expect(inner.calls).toHaveLength(1);
    let later = false;
    const rest = Promise.all([sink.perform(emits('b', 1)), sink.perform(emits('c', 1))]).then(() => {
      later = true;
    });
    await tick();
    expect(inner.calls).toHaveLength(1); // one flush at a time
    inner.release();
    await first;
    await tick();
    expect(inner.calls).toHaveLength(2);
    expect(later).toBe(false); // not resolved before its own flush succeeded
    inner.release();
    await rest;
    expect(inner.calls[1]!.map((e) => (e.type === 'emit' ? e.value : ''))).toEqual(['b:0', 'c:0']);
  });

  it('starts a second flush while one runs only when enough effects wait, up to maxInFlight', async () => {
    const inner = new RecordingSink();
    inner.gated = true;
    const sink = new CoalescingSink(inner, { maxEffects: 10, maxInFlight: 2, parallelEffects: 6 });
    const calls = [sink.perform(emits('a', 1))];
    await tick();
    calls.push(sink.perform(emits('b', 2)), sink.perform(emits('c', 2)));
    await tick();
    expect(inner.calls).toHaveLength(1); // 4 waiting < 6: they queue behind the running flush
    calls.push(sink.perform(emits('d', 3)));
    await tick();
    expect(inner.calls).toHaveLength(2); // 7 waiting: a second flush takes them all
    calls.push(sink.perform(emits('e', 9)));
    await tick();
    expect(inner.calls).toHaveLength(2); // maxInFlight reached
    inner.release();
    await tick();
    inner.release();
    await Promise.all(calls);
    expect(inner.calls.map((c) => c.length)).toEqual([1, 7, 9]);
  });

  it('caps a merged call at maxEffects whole calls, never splitting one', async () => {
    const inner = new RecordingSink();
    const sink = new CoalescingSink(inner, { maxEffects: 5, maxInFlight: 1 });
    await Promise.all([sink.perform(emits('a', 3)), sink.perform(emits('b', 2)), sink.perform(emits('c', 7)), sink.perform(emits('d', 1))]);
    expect(inner.calls.map((c) => c.length)).toEqual([5, 7, 1]);
  });

  it('isolates a failing call: only its caller is rejected, the others are performed', async () => {
    const inner = new RecordingSink();
    inner.poison.add('b:1');
    const sink = new CoalescingSink(inner);
    const results = await Promise.allSettled([sink.perform(emits('a', 2)), sink.perform(emits('b', 2)), sink.perform(emits('c', 2))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const done = new Set(inner.performed.map((e) => (e.type === 'emit' ? e.value : '')));
    for (const v of ['a:0', 'a:1', 'c:0', 'c:1']) expect(done.has(v)).toBe(true);
    expect(done.has('b:1')).toBe(false);
  });

  it('keeps each caller’s effects in its own order over random interleavings (oracle: per-caller sequence)', async () => {
    const rng = createRng(7);
    const rand = () => rng.next();
    const inner = new RecordingSink();
    const sink = new CoalescingSink(inner, { maxEffects: 13, parallelEffects: 8 });
    const callers = ['p0', 'p1', 'p2', 'p3'];
    const sent = new Map<string, string[]>(callers.map((c) => [c, []]));
    // Each caller is a drain: one call in flight at a time, several rounds.
    await Promise.all(
      callers.map(async (c) => {
        for (let round = 0; round < 20; round += 1) {
          const n = 1 + Math.floor(rand() * 6);
          const batch = Array.from({ length: n }, (_, i): OutputEffect => ({ type: 'emit', topic: 'out', key: c, value: `${c}:${round}:${i}` }));
          sent.get(c)!.push(...batch.map((e) => (e.type === 'emit' ? e.value : '')));
          if (rand() < 0.5) await tick();
          await sink.perform(batch);
        }
      }),
    );
    for (const c of callers) {
      const seen = inner.performed.flatMap((e) => (e.type === 'emit' && e.key === c ? [e.value] : []));
      expect(seen).toEqual(sent.get(c));
    }
    expect(inner.calls.length).toBeLessThan(80); // merged: fewer inner calls than caller calls
  });
});

describe('CoalescingSink over a partly failing sink', () => {
  it('retries each call without what the merged call performed, and says what it performed', async () => {
    const emit = new RecordingSink();
    let downCalls = 0;
    const failing: EffectSink = {
      perform: async () => {
        downCalls += 1;
        throw new Error('down');
      },
      close: async () => undefined,
    };
    const sink = new CoalescingSink(new RoutingSink(emit, new Map<string, EffectSink>([['rows', failing]])));
    const a: OutputEffect[] = [...emits('a', 2), { type: 'upsert', sink: 'rows', row: { n: 1 } }];
    const b: OutputEffect[] = emits('b', 2);
    const [ra, rb] = await Promise.allSettled([sink.perform(a), sink.perform(b)]);
    // b's effects all went out in the merged call: b succeeds without a second send.
    expect(rb.status).toBe('fulfilled');
    expect(ra.status).toBe('rejected');
    // Every emit was sent exactly once; a's retry carried only its upsert.
    expect(emit.performed.map((e) => (e.type === 'emit' ? e.value : ''))).toEqual(['a:0', 'a:1', 'b:0', 'b:1']);
    expect(downCalls).toBe(2);
    expect(new Set(performedBy((ra as PromiseRejectedResult).reason))).toEqual(new Set([a[0], a[1]]));
  });
});

describe('RoutingSink', () => {
  it('sends one call per distinct sink, with upserts of several names served by one sink together', async () => {
    const emit = new RecordingSink();
    const tables = new RecordingSink();
    const live = new RecordingSink();
    const routing = new RoutingSink(emit, new Map<string, EffectSink>([['by_user', tables], ['by_event', tables], ['live', live]]));
    const effects: OutputEffect[] = [
      { type: 'upsert', sink: 'by_user', row: { n: 1 } },
      { type: 'emit', topic: 't', key: 'k', value: 'v1' },
      { type: 'upsert', sink: 'by_event', row: { n: 2 } },
      { type: 'upsert', sink: 'live', row: { n: 3 } },
      { type: 'upsert', sink: 'by_user', row: { n: 4 } },
    ];
    await routing.perform(effects);
    expect(tables.calls).toHaveLength(1);
    expect(tables.calls[0]!.map((e) => (e.type === 'upsert' ? (e.row as { n: number }).n : 0))).toEqual([1, 2, 4]);
    expect(live.calls).toEqual([[effects[3]]]);
    expect(emit.calls).toEqual([[effects[1]]]);
  });

  it('a failure names what the sinks that succeeded performed, so a retry can leave it out', async () => {
    const emit = new RecordingSink();
    const tables = new RecordingSink();
    const down: EffectSink = { perform: async () => Promise.reject(new Error('cassandra down')), close: async () => undefined };
    const routing = new RoutingSink(emit, new Map<string, EffectSink>([['by_user', down], ['live', tables]]));
    const effects: OutputEffect[] = [
      { type: 'emit', topic: 't', key: 'k', value: 'v1' },
      { type: 'upsert', sink: 'by_user', row: { n: 1 } },
      { type: 'upsert', sink: 'live', row: { n: 2 } },
      { type: 'emit', topic: 't', key: 'k', value: 'v2' },
    ];
    const err = await routing.perform(effects).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toBe('cassandra down');
    expect(new Set(performedBy(err))).toEqual(new Set([effects[0], effects[2], effects[3]]));
    expect(performedBy(new Error('unrelated')).size).toBe(0);
  });

  it('rejects an upsert to an unregistered sink before performing anything', async () => {
    const emit = new RecordingSink();
    const routing = new RoutingSink(emit);
    await expect(routing.perform([{ type: 'emit', topic: 't', key: 'k', value: 'v' }, { type: 'upsert', sink: 'nope', row: {} }])).rejects.toThrow(/nope/);
    expect(emit.calls).toHaveLength(0);
  });
});
