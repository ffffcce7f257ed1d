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

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const emits = effects.filter((e) => e.type === 'emit');
    const bySink = new Map<string, OutputEffect[]>();
    for (const e of effects) {
      if (e.type !== 'upsert') continue;
      let list = bySink.get(e.sink);
      if (!list) {
        list = [];
        bySink.set(e.sink, list);
      }
      list.push(e);
    }
    const work: Promise<void>[] = [];
    if (emits.length > 0) work.push(this.#emit.perform(emits));
    for (const [name, list] of bySink) {
      const sink = this.#upserts.get(name);
      if (!sink) throw new Error(`no sink registered for upserts to "${name}"`);
      work.push(sink.perform(list));
    }
    await Promise.all(work);
  }

  async close(): Promise<void> {
    const distinct = new Set([this.#emit, ...this.#upserts.values()]);
    await Promise.all([...distinct].map((s) => s.close()));
  }
}
