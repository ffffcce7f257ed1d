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
    await Promise.all([...bySink].map(([sink, list]) => sink.perform(list)));
  }

  async close(): Promise<void> {
    const distinct = new Set([this.#emit, ...this.#upserts.values()]);
    await Promise.all([...distinct].map((s) => s.close()));
  }
}
