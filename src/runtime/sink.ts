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
