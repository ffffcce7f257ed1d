import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { merchantPipeline } from '../../../src/actors/payments/pipelines.ts';
import type { IngestedEvent, IngestedEvent as E } from '../../../src/contract/event.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { prng } from '../../support/counting-actor.ts';

const LATENESS = 20 * 60_000;
const W = 300_000;
const S = 60_000;
const STATUSES = ['authorized', 'captured', 'refunded', 'failed'] as const;

function events(seed: number, n: number): E[] {
  const rand = prng(seed);
  const out: E[] = [];
  let now = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i += 1) {
    now += Math.floor(rand() * 2_000);
    const r = rand();
    if (r < 0.05 && out.length > 0) {
      out.push(out[Math.floor(rand() * out.length)]!);
      continue;
    }
    let ts = now;
    if (r < 0.15) ts = now - Math.floor(rand() * 240_000);
    else if (r < 0.16) ts = now - LATENESS - 600_000;
    out.push({
      event_id: `e${i}`, ts_ms: ts, user_id: `u${Math.floor(rand() * 400)}`, merchant_id: `m${Math.floor(rand() * 3)}`,
      amount: Math.round(rand() * 50_000) / 100, currency: 'USD', status: STATUSES[Math.floor(rand() * 4)]!, ingest_received_ms: now,
    });
  }
  return out;
}

/** Brute force: accepted events (one partition, offset order), then every window recomputed. */
function expectedWindows(all: readonly E[], watermark: number) {
  let maxTs = Number.NEGATIVE_INFINITY;
  const seen = new Set<string>();
  const accepted: E[] = [];
  let late = 0;
  for (const e of all) {
    if (e.ts_ms < maxTs - LATENESS) {
      late += 1;
      continue;
    }
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    maxTs = Math.max(maxTs, e.ts_ms);
    accepted.push(e);
  }
  const rows = new Map<string, { cnt: number; sum: number; users: Set<string> }>();
  for (const e of accepted) {
    for (let start = Math.floor(e.ts_ms / S) * S - W + S; start <= e.ts_ms; start += S) {
      if (start + W > watermark) continue;
      const key = `${e.merchant_id}|${start}|${e.status}`;
      const row = rows.get(key) ?? { cnt: 0, sum: 0, users: new Set<string>() };
      row.cnt += 1;
      row.sum += e.amount;
      row.users.add(e.user_id);
      rows.set(key, row);
    }
  }
  return { rows, late, watermark: maxTs - LATENESS };
}

describe('merchant pipeline (windows through the actor host)', () => {
  it('emits every final window exactly once with cnt/sum exact and distinct users within 2%', async () => {
    const all = events(5, 6_000);
    const store = new MemoryStateStore();
    const sink = new MemorySink();
    const host = new ActorHost<IngestedEvent>({
      pipeline: merchantPipeline(), group: 'g', topic: 'payments.events', store, sink, clock: () => 0,
      settings: { allowedLatenessMs: LATENESS, handlerRetries: 0, maxBatchRecords: 1_000, idlePartitionMs: 60_000, maxActiveActors: 1_000 },
      metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
    });
    await host.onAssignment([0]);
    const records: InputRecord[] = all.map((e, i) => ({ partition: 0, offset: String(i), key: Buffer.from(e.merchant_id), value: Buffer.from(JSON.stringify(e)) }));
    for (let i = 0; i < records.length; i += 250) await host.handleBatch(0, records.slice(i, i + 250));

    const watermark = host.claimed().get(0)!.watermarkMs;
    const expected = expectedWindows(all, watermark);
    const upserts = sink.performed.filter((e) => e.type === 'upsert' && e.sink === 'merchant_windows');
    const got = new Map<string, Record<string, unknown>>();
    for (const u of upserts) {
      const row = (u as { row: Record<string, unknown> }).row;
      const key = `${row.merchant_id}|${row.window_start}|${row.status}`;
      expect(got.has(key), `window ${key} emitted twice`).toBe(false);
      got.set(key, row);
    }
    expect(expected.rows.size).toBeGreaterThan(500);
    // merchant.windows and merchant.alerts records go out before their commit; the Cassandra
    // rows (merchant_windows, merchant_stats) through the outbox, after it.
    const windowRecords = sink.performed.filter((e) => e.type === 'emit' && e.topic === 'merchant.windows');
    expect(windowRecords.length).toBe(expected.rows.size);
    for (const e of sink.performed) {
      if (e.type === 'emit' && e.topic.startsWith('merchant.')) expect(e.beforeCommit, e.topic).toBe(true);
      if (e.type === 'upsert' && e.sink.startsWith('merchant_')) expect(e.beforeCommit, e.sink).toBeUndefined();
    }
    expect([...got.keys()].sort()).toEqual([...expected.rows.keys()].sort());
    for (const [key, want] of expected.rows) {
      const row = got.get(key)!;
      expect(row.cnt, key).toBe(want.cnt);
      expect(row.sum_amount as number, key).toBeCloseTo(want.sum, 6);
      expect(Math.abs((row.n_users as number) - want.users.size)).toBeLessThanOrEqual(Math.max(1, want.users.size * 0.02));
      expect(row.window_end).toBe((row.window_start as number) + W);
    }
    const lateLetters = sink.performed.filter((e) => e.type === 'emit' && e.topic === 'dlq.late');
    expect(lateLetters).toHaveLength(expected.late);
    const rekeyed = sink.performed.filter((e) => e.type === 'emit' && e.topic === 'payments.events.by-user');
    expect(new Set(rekeyed.map((e) => JSON.parse((e as { value: string }).value).event_id)).size).toBe(rekeyed.length);
    // each re-keyed value is the record's own text (wire form), not a re-encoding
    const sent = new Map(records.map((r) => [JSON.parse(r.value!.toString()).event_id as string, r.value!.toString()]));
    for (const e of rekeyed) expect((e as { value: string }).value).toBe(sent.get(JSON.parse((e as { value: string }).value).event_id));
  });
});
