import { type ActorType, type Effect, erase, jsonCodec, type Pipeline } from '../../runtime/actor.ts';

/**
 * The counting actor: counts messages and sums `v` per key. It is the runtime's yardstick: any
 * loss or double count under crashes, rebalances or zombies shows up in its totals, and the
 * runtime benchmark measures the engine's overhead with it.
 *
 * Input (JSON, UTF-8): `{ "id": string, "k": string, "ts": integer ms, "v": number }`.
 */
export interface CounterMessage {
  readonly id: string;
  readonly k: string;
  readonly ts: number;
  readonly v: number;
}

export interface CounterState {
  readonly count: number;
  readonly sum: number;
}

/** Shared by every transition: the counter never has effects, so no empty array per event. */
const NO_EFFECTS: readonly Effect[] = Object.freeze([]);

export const counterActor: ActorType<CounterState, CounterMessage> = {
  name: 'counter',
  keyOf: (m) => m.k,
  initialState: () => ({ count: 0, sum: 0 }),
  codec: jsonCodec<CounterState>(1),
  handle: (state, m) => ({ state: { count: state.count + 1, sum: state.sum + m.v }, effects: NO_EFFECTS }),
};

export function decodeCounterMessage(value: Buffer): CounterMessage {
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  const m = parsed as Partial<CounterMessage> | null;
  if (!m || typeof m.id !== 'string' || typeof m.k !== 'string' || !Number.isInteger(m.ts) || typeof m.v !== 'number') {
    throw new Error('counter message needs {id: string, k: string, ts: integer, v: number}');
  }
  return m as CounterMessage;
}

export function counterPipeline(topic: string): Pipeline<CounterMessage> {
  return {
    name: 'counter',
    input: { topic, decode: decodeCounterMessage, idOf: (m) => m.id, eventTimeOf: (m) => m.ts },
    actors: [erase(counterActor)],
  };
}
