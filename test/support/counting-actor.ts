import { erase, jsonCodec, type ActorType, type Pipeline } from '../../src/runtime/actor.ts';

import { type CounterMessage, type CounterState, counterActor, decodeCounterMessage } from '../../src/actors/counter/counter.ts';

export type Msg = CounterMessage;
export type CountState = CounterState;
export const countingActor: ActorType<CountState, Msg> = counterActor;
export const decodeMsg = decodeCounterMessage;

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
