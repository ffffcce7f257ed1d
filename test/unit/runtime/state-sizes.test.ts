import { describe, expect, it } from 'vitest';
import { type ActorType, erase, jsonCodec, type Pipeline } from '../../../src/runtime/actor.ts';
import { toStateWrites } from '../../../src/runtime/batch-step.ts';
import type { Baselines } from '../../../src/runtime/state-parts.ts';
import { stateId } from '../../../src/runtime/store.ts';

type Whole = { readonly n: number };
type Parted = { readonly n: number; readonly parts: Readonly<Record<string, string>> };

const whole: ActorType<Whole, string> = {
  name: 'whole', keyOf: (m) => m, initialState: () => ({ n: 0 }), codec: jsonCodec<Whole>(1), handle: (s) => ({ state: s, effects: [] }),
};
const parted: ActorType<Parted, string> = {
  name: 'parted',
  keyOf: (m) => m,
  initialState: () => ({ n: 0, parts: {} }),
  codec: {
    version: 3,
    encode: (s) => JSON.stringify(s),
    decode: (raw) => JSON.parse(raw) as Parted,
    encodeParts: (s) => ({ head: String(s.n), parts: new Map(Object.entries(s.parts)) }),
    decodeParts: (head, parts) => ({ n: Number(head), parts: Object.fromEntries(parts) }),
  },
  handle: (s) => ({ state: s, effects: [] }),
};
const pipeline: Pipeline<string> = {
  name: 'sizes', input: { topic: 't', decode: (b) => b.toString(), idOf: (m) => m, eventTimeOf: () => 0 }, actors: [erase(whole), erase(parted)],
};

// The actor cache's byte bound counts what toStateWrites reports per state: the encoded text a
// whole state is stored as, and for a state in parts its head plus every part as stored (also
// the parts this commit did not rewrite).
describe('toStateWrites sizes', () => {
  it('reports each state\'s encoded size: whole text, or head plus all stored parts', () => {
    const a = stateId('whole', 'a');
    const p = stateId('parted', 'p');
    const sizes = new Map<string, number>();
    const states = new Map<string, unknown>([[a, { n: 12 }], [p, { n: 7, parts: { x: 'xxxx', y: 'yyyyyyyy' } }]]);
    // with a baseline in which part y is already stored as is: only x and the head are written
    const baselines = new Map([[p, new Map([['y', 'yyyyyyyy']])]]);
    const committed: Baselines = new Map();
    const writes = toStateWrites(pipeline, states, baselines, committed, sizes);
    const written = new Map(writes.map((w) => [w.id, w.value]));
    expect(written.get(a)).toBe('v1:{"n":12}');
    expect(sizes.get(a)).toBe('v1:{"n":12}'.length);
    expect(written.get(p)).toBe('v3;x,y:7');
    expect(written.has(`${p}\u0001y`)).toBe(false);
    expect(sizes.get(p)).toBe('v3;x,y:7'.length + 'xxxx'.length + 'yyyyyyyy'.length);
  });

  it('reports 0 for a deleted state and the whole text for a parted state without a baseline', () => {
    const sizes = new Map<string, number>();
    const a = stateId('whole', 'a');
    const p = stateId('parted', 'p');
    toStateWrites(pipeline, new Map<string, unknown>([[a, undefined], [p, { n: 1, parts: { x: 'x' } }]]), new Map(), new Map(), sizes);
    expect(sizes.get(a)).toBe(0);
    expect(sizes.get(p)).toBe(`v3:${JSON.stringify({ n: 1, parts: { x: 'x' } })}`.length);
  });
});
