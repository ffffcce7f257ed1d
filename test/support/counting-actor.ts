import { erase, jsonCodec, type ActorType, type Pipeline } from '../../src/runtime/actor.ts';

/** Test input: `{ id, k, ts, v }` as JSON. */
export interface Msg {
  readonly id: string;
  readonly k: string;
  readonly ts: number;
  readonly v: number;
}

export interface CountState {
  readonly count: number;
  readonly sum: number;
}

/** Counts messages and sums `v` per key: the simplest actor whose result shows any loss or double count. */
export const countingActor: ActorType<CountState, Msg> = {
  name: 'counter',
  keyOf: (m) => m.k,
  initialState: () => ({ count: 0, sum: 0 }),
  codec: jsonCodec<CountState>(1),
  handle: (state, m) => ({ state: { count: state.count + 1, sum: state.sum + m.v }, effects: [] }),
};

/** Per key and minute bucket: a timer at the bucket end emits the bucket's count once. */
export interface BucketState {
  readonly buckets: Record<string, number>;
}

export const bucketActor: ActorType<BucketState, Msg> = {
  name: 'bucket',
  keyOf: (m) => m.k,
  initialState: () => ({ buckets: {} }),
  codec: jsonCodec<BucketState>(1),
  handle: (state, m) => {
    const start = Math.floor(m.ts / 60_000) * 60_000;
    const buckets = { ...state.buckets, [start]: (state.buckets[start] ?? 0) + 1 };
    return { state: { buckets }, effects: [{ type: 'timer', atMs: start + 60_000, tag: String(start) }] };
  },
  onTimer: (state, timer, ctx) => {
    const { [timer.tag]: count, ...rest } = state.buckets;
    return {
      state: { buckets: rest },
      effects: [{ type: 'emit', topic: 'buckets', key: `${ctx.key}:${timer.tag}`, value: String(count ?? 0) }],
    };
  },
};

export function decodeMsg(value: Buffer): Msg {
  const parsed = JSON.parse(value.toString('utf8')) as Msg;
  if (typeof parsed.id !== 'string' || typeof parsed.k !== 'string' || typeof parsed.ts !== 'number' || typeof parsed.v !== 'number') {
    throw new Error('not a test message');
  }
  return parsed;
}

export function testPipeline(actors: readonly ActorType<unknown, Msg>[] = [erase(countingActor)]): Pipeline<Msg> {
  return {
    name: 'test',
    input: { topic: 'test.input', decode: decodeMsg, idOf: (m) => m.id, eventTimeOf: (m) => m.ts },
    actors,
  };
}

/** Seeded PRNG (mulberry32): deterministic test data without Math.random. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
