import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { type ActorType, erase } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { decodeLoaded, parseHead, partedWrites } from '../../../src/runtime/state-parts.ts';
import { type PartitionRef, stateId, type StateWrite } from '../../../src/runtime/store.ts';
import { type Msg, prng, testPipeline } from '../../support/counting-actor.ts';

/** A state of named counters, stored one part per counter; `undefined` once deleted. */
type Parts = { readonly n: number; readonly parts: Readonly<Record<string, number>> } | undefined;

/** What a message does, from its id alone (so the oracle and the actor agree). */
function opOf(m: Msg): { kind: 'add' | 'drop' | 'delete'; name: string } {
  const r = Number(m.id.slice(1)) * 2_654_435_761 % 2 ** 32;
  const name = `p${Math.floor(m.ts / 60_000) % 9}`;
  if (r % 23 === 0) return { kind: 'delete', name };
  return { kind: r % 5 === 0 ? 'drop' : 'add', name };
}

function apply(state: Parts, m: Msg): Parts {
  const op = opOf(m);
  if (op.kind === 'delete') return undefined;
  const s = state ?? { n: 0, parts: {} };
  const parts = { ...s.parts };
  if (op.kind === 'drop') delete parts[op.name];
  else parts[op.name] = (parts[op.name] ?? 0) + 1;
  return { n: s.n + 1, parts };
}

const partedActor: ActorType<Parts, Msg> = {
  name: 'parted',
  keyOf: (m) => m.k,
  initialState: () => ({ n: 0, parts: {} }),
  codec: {
    version: 1,
    encode: (s) => JSON.stringify(s),
    decode: (raw) => JSON.parse(raw) as Parts,
    encodeParts: (s) => ({ head: JSON.stringify({ n: s?.n }), parts: new Map(Object.entries(s?.parts ?? {}).map(([k, v]) => [k, String(v)])) }),
    decodeParts: (head, parts) => ({ n: (JSON.parse(head) as { n: number }).n, parts: Object.fromEntries([...parts].map(([k, v]) => [k, Number(v)])) }),
  },
  handle: (state, m) => ({ state: apply(state, m), effects: [] }),
};

const REF: PartitionRef = { group: 'g', topic: 'test.input', partition: 0 };
const KEYS = 12;

function makeHost(store: MemoryStateStore) {
  return new ActorHost<Msg>({
    pipeline: testPipeline([erase(partedActor)]), group: 'g', topic: 'test.input', store, sink: new MemorySink(), clock: () => 0,
    settings: { allowedLatenessMs: 60_000, handlerRetries: 0, maxBatchRecords: 200, idlePartitionMs: 1_000, maxActiveActors: 1_000 },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
}

/** A store whose commits sometimes fail before, or after, applying (a lost reply); `fields` mirrors what it holds. */
function faultyStore(rand: () => number) {
  const store = new MemoryStateStore();
  const fields = new Map<string, string>();
  const commit = store.commit.bind(store);
  store.commit = async (batch) => {
    if (rand() < 0.05) throw new Error('injected: commit not sent');
    const result = await commit(batch);
    if (result.ok) for (const w of batch.states) w.value === null ? fields.delete(w.id) : fields.set(w.id, w.value);
    if (result.ok && rand() < 0.05) throw new Error('injected: reply lost');
    return result;
  };
  return { store, fields };
}

describe('states stored in parts', () => {
  it('writes only changed parts and deletes dropped ones, against the baseline', () => {
    const writes: StateWrite[] = [];
    const baseline = new Map([['a', '1'], ['b', '2'], ['c', '3']]);
    const next = partedWrites(partedActor.codec as never, 'x', { n: 4, parts: { a: 1, b: 5, d: 7 } }, baseline, writes);
    expect(writes).toEqual([
      { id: 'x\u0001b', value: '5' },
      { id: 'x\u0001d', value: '7' },
      { id: 'x\u0001c', value: null },
      { id: 'x', value: 'v1;a,b,d:{"n":4}' },
    ]);
    expect([...next]).toEqual([['a', '1'], ['b', '5'], ['d', '7']]);
    expect(parseHead('v1;a,b,d:{"n":4}')).toEqual({ version: 1, names: ['a', 'b', 'd'], head: '{"n":4}' });
    expect(parseHead('v1:{"x":";"}')).toBeUndefined();
    for (const bad of ['', 'a,b', 'a:b', 'a\u0001b']) {
      expect(() => partedWrites(partedActor.codec as never, 'x', { n: 1, parts: { [bad]: 1 } }, new Map(), []), bad).toThrow(/not allowed/);
    }
  });

  it('holds exactly the state a clean pass gives, and no unlisted part, across crashes and failed commits', async () => {
    const rand = prng(17);
    const msgs: Msg[] = Array.from({ length: 6_000 }, (_, i) => ({ id: `e${i}`, k: `k${Math.floor(rand() * KEYS)}`, ts: 1_000 * i, v: 1 }));
    const records: InputRecord[] = msgs.map((m, i) => ({ partition: 0, offset: String(i), key: Buffer.from(m.k), value: Buffer.from(JSON.stringify(m)) }));
    const expected = new Map<string, Parts>();
    for (const m of msgs) expected.set(m.k, apply(expected.has(m.k) ? expected.get(m.k) : partedActor.initialState(m.k), m));

    const { store, fields } = faultyStore(prng(5));
    let position = 0;
    let failures = 0;
    while (position < records.length) {
      // a new process (fresh host, cache and tasks); Kafka redelivers from an older offset
      const host = makeHost(store);
      await host.onAssignment([0]);
      position = Math.max(0, position - Math.floor(rand() * 300));
      for (let rounds = Math.floor(rand() * 40); rounds > 0 && position < records.length; rounds -= 1) {
        const slice = records.slice(position, position + 1 + Math.floor(rand() * 150));
        const outcome = await host.handleBatch(0, slice).catch(() => null);
        if (outcome === null) failures += 1;
        else if (outcome.kind === 'seek') position = Number(outcome.offset);
        else if (outcome.kind === 'processed') position += slice.length;
      }
    }
    expect(failures).toBeGreaterThan(5);

    const ids = Array.from({ length: KEYS }, (_, i) => stateId('parted', `k${i}`));
    const states = await decodeLoaded(ids, ids.map(() => erase(partedActor)), await store.loadStates(REF, ids), (p) => store.loadStates(REF, p), new Map());
    ids.forEach((id, i) => {
      const want = expected.get(`k${i}`);
      expect(states[i], id).toEqual(want === undefined ? partedActor.initialState(`k${i}`) : want);
    });
    // every stored part is listed by its head, and every listed part is stored
    for (const [field, value] of fields) {
      const [id, name] = field.split('\u0001');
      if (name === undefined) {
        for (const listed of parseHead(value)?.names ?? []) expect(fields.has(`${id}\u0001${listed}`), `${id} ${listed}`).toBe(true);
      } else {
        expect(parseHead(fields.get(id!) ?? '')?.names ?? [], `orphan ${field}`).toContain(name);
      }
    }
    expect([...fields.keys()].filter((f) => f.includes('\u0001')).length).toBeGreaterThan(KEYS);
  });
});
