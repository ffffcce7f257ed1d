import type { OutputEffect } from './actor.ts';

/**
 * The output port. `perform` must be idempotent per effect (Kafka emits may be repeated after a
 * crash; Cassandra upserts overwrite the same key with the same value) and must throw a
 * retriable RiskstreamError when the destination is unavailable, so the outbox entry stays
 * until a later drain succeeds.
 */
export interface EffectSink {
  perform(effects: readonly OutputEffect[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The effects a failed `perform` did perform (those of the destinations that succeeded), kept
 * with its error. The outbox drain drops them from its retry, so while one sink is down (say
 * Cassandra, for minutes) the others do not get the same records again at every backoff, with
 * the backlog growing under them.
 */
const performedByError = new WeakMap<object, ReadonlySet<OutputEffect>>();
const NONE: ReadonlySet<OutputEffect> = new Set();

/** Records that `effects` were performed before `err` was thrown; returns `err`. */
export function withPerformed(err: unknown, effects: Iterable<OutputEffect>): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const all = new Set(performedBy(err));
  for (const e of effects) all.add(e);
  if (all.size > 0) performedByError.set(err, all);
  return err;
}

/** What the failed perform that threw `err` did perform (by identity); empty when unknown. */
export function performedBy(err: unknown): ReadonlySet<OutputEffect> {
  return (typeof err === 'object' && err !== null && performedByError.get(err)) || NONE;
}

/**
 * Routes effects: emits to the emit sink, upserts to the sink registered under their name.
 * An upsert for an unknown sink is a programming error in an actor, caught at start-up by
 * `assertSinks` rather than at the first message.
 */
export class RoutingSink implements EffectSink {
  readonly #emit: EffectSink;
  readonly #upserts: ReadonlyMap<string, EffectSink>;

  constructor(emit: EffectSink, upserts: ReadonlyMap<string, EffectSink> = new Map()) {
    this.#emit = emit;
    this.#upserts = upserts;
  }

  /**
   * One call per distinct sink, not per sink name: several tables served by one Cassandra sink
   * get their rows in one call (one set of batches instead of one per table).
   */
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const bySink = new Map<EffectSink, OutputEffect[]>();
    for (const e of effects) {
      let sink: EffectSink | undefined = this.#emit;
      if (e.type === 'upsert') {
        sink = this.#upserts.get(e.sink);
        if (!sink) throw new Error(`no sink registered for upserts to "${e.sink}"`);
      }
      let list = bySink.get(sink);
      if (!list) {
        list = [];
        bySink.set(sink, list);
      }
      list.push(e);
    }
    const calls = [...bySink];
    const results = await Promise.allSettled(calls.map(([sink, list]) => sink.perform(list)));
    const failed = results.find((r) => r.status === 'rejected');
    if (!failed) return;
    const performed: OutputEffect[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') performed.push(...calls[i]![1]);
      else performed.push(...performedBy(r.reason));
    });
    throw withPerformed(failed.reason, performed);
  }

  async close(): Promise<void> {
    const distinct = new Set([this.#emit, ...this.#upserts.values()]);
    await Promise.all([...distinct].map((s) => s.close()));
  }
}
