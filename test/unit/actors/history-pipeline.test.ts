import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { decodePublishedScore, HISTORY_TABLES, historyPipeline, type PublishedScore } from '../../../src/actors/history/history-pipeline.ts';
import type { ScoreRecord } from '../../../src/actors/user/user-actor.ts';
import type { OutputEffect } from '../../../src/runtime/actor.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';

const HOUR = 3_600_000;

function score(n: number, extra: Partial<ScoreRecord> = {}): ScoreRecord {
  return {
    event_id: `e${n}`, user_id: `u${n % 3}`, merchant_id: 'm1', ts_ms: 1_767_225_600_000 + n * 1000, ingest_received_ms: 1_767_225_600_000 + n * 1000,
    score: 0.1, decision: 'allow', reasons: ['velocity_1h'], features: { amount: 12.5 }, model_version: 'v1', ...extra,
  };
}

const records = (values: readonly (string | null)[], base = 0): InputRecord[] =>
  values.map((v, i) => ({ partition: 0, offset: String(base + i), key: null, value: v === null ? null : Buffer.from(v) }));

describe('history pipeline (risk.scores → Cassandra history)', () => {
  it('decodes a published score and keeps its text for the sink', () => {
    const json = JSON.stringify(score(1));
    const m: PublishedScore = decodePublishedScore(Buffer.from(json));
    expect(m.record).toEqual(score(1));
    expect(m.json).toBe(json);
  });

  it.each([
    ['event_id', '[]'],
    ['not a JSON object', 'null'],
    ['user_id', JSON.stringify({ ...score(1), user_id: '' })],
    ['ts_ms', JSON.stringify({ ...score(1), ts_ms: 1.5 })],
    ['score', JSON.stringify({ ...score(1), score: 1.2 })],
    ['decision', JSON.stringify({ ...score(1), decision: 'maybe' })],
    ['reasons', JSON.stringify({ ...score(1), reasons: [1] })],
    ['features', JSON.stringify({ ...score(1), features: [] })],
  ])('refuses a record with a bad %s, naming it', (field, value) => {
    expect(() => decodePublishedScore(Buffer.from(value))).toThrow(field);
  });

  it('writes both history rows per score before the commit, keeps no marks, and dead-letters bad records', async () => {
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const pipeline = historyPipeline();
    const host = new ActorHost<PublishedScore>({
      pipeline, group: 'g', topic: 'risk.scores', store, sink, clock: () => 1_800_000_000_000,
      settings: { allowedLatenessMs: 20 * 60_000, handlerRetries: 0, maxBatchRecords: 100, idlePartitionMs: 60_000, maxActiveActors: 100 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
    await host.onAssignment([0]);
    // Scores arrive in any event-time order (risk.scores interleaves by-user partitions): an
    // hour-old one is written, not dead-lettered as late. A repeat (a re-run user batch) is
    // written again: the same cells with the same timestamp.
    const values = [JSON.stringify(score(1)), JSON.stringify(score(5)), JSON.stringify({ ...score(0), ts_ms: score(0).ts_ms - HOUR }), 'not json', JSON.stringify(score(1))];
    await host.handleBatch(0, records(values));
    const upserts = sink.performed.filter((e): e is Extract<OutputEffect, { type: 'upsert' }> => e.type === 'upsert');
    expect(upserts.map((u) => `${u.sink}:${u.row.event_id}`)).toEqual(
      ['e1', 'e5', 'e0', 'e1'].flatMap((id) => HISTORY_TABLES.map((t) => `${t}:${id}`)),
    );
    for (const u of upserts) {
      expect(u.json).toBe(JSON.stringify(u.row));
      expect(u.beforeCommit).toBe(true);
    }
    const letters = sink.performed.filter((e): e is Extract<OutputEffect, { type: 'emit' }> => e.type === 'emit');
    expect(letters.map((l) => [l.topic, JSON.parse(l.value).code])).toEqual([['dlq.invalid', 'DECODE_FAILED']]);
    const ref = { group: 'g', topic: 'risk.scores', partition: 0 };
    expect(await store.seen(ref, ['e1', 'e5', 'e0'])).toEqual([false, false, false]);
    expect((await store.positions([ref]))[0]?.nextOffset).toBe('5');
  });
});
