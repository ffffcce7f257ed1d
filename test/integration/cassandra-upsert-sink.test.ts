import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFeatureVector } from '../../src/adapters/cassandra/feature-vector.ts';
import { dropKeyspace, migrate } from '../../src/adapters/cassandra/migrate.ts';
import { StoreLookupReader } from '../../src/adapters/cassandra/lookup-reader.ts';
import { CassandraUpsertSink } from '../../src/adapters/cassandra/upsert-sink.ts';
import type { LiveScoreReader } from '../../src/adapters/redis/live-scores.ts';
import type { OutputEffect } from '../../src/runtime/actor.ts';
import { testConfig, uniqueName } from '../support/services.ts';

// The upsert sink against the local Cassandra: rows of one replica set (all of them, on one node)
// go as unlogged batches mixing tables and partitions; every row lands once with its
// deterministic write timestamp, a re-drain is harmless.
describe('CassandraUpsertSink on the local stack', () => {
  const keyspace = uniqueName('it_upsert');
  const config = testConfig({ cassandra: { keyspace } });
  let sink: CassandraUpsertSink;
  let client: cassandra.Client;

  beforeAll(async () => {
    await migrate(config);
    sink = new CassandraUpsertSink({ ...config.cassandra, contactPoints: config.cassandra.contactPoints });
    client = new cassandra.Client({ contactPoints: [...config.cassandra.contactPoints], localDataCenter: config.cassandra.localDataCenter, keyspace });
  });

  afterAll(async () => {
    await sink?.close();
    await client?.shutdown();
    await dropKeyspace(config, keyspace);
  });

  const t0 = 1_767_225_600_000;
  const window = (merchant: string, i: number, cnt: number): OutputEffect => ({
    type: 'upsert', sink: 'merchant_windows',
    row: { merchant_id: merchant, window_start: t0 + i * 60_000, window_end: t0 + i * 60_000 + 300_000, status: 'captured', cnt, sum_amount: cnt * 10, n_users: 1, final: true },
  });
  const score = (user: string, i: number): OutputEffect => ({
    type: 'upsert', sink: 'risk_scores_by_user',
    row: { user_id: user, ts_ms: t0 + i, event_id: `e-${user}-${i}`, merchant_id: 'm1', score: 0.25, decision: 'allow', reasons: ['velocity'], features: { amount: 10 }, model_version: 'v1' },
  });

  it('writes every row of a drain once, in mixed batches, with the event-time write timestamp', async () => {
    const effects = [
      ...Array.from({ length: 120 }, (_, i) => window(`m${i % 3}`, i, i + 1)),
      ...Array.from({ length: 40 }, (_, i) => score(`u${i % 4}`, i)),
    ];
    await sink.perform(effects);
    await sink.perform(effects); // a re-drain after a crash rewrites identical cells
    for (const m of ['m0', 'm1', 'm2']) {
      const cql = 'SELECT window_start, window_end, status, cnt, sum_amount, n_users, final, updated_at_ms, WRITETIME(cnt) AS wt FROM merchant_windows WHERE merchant_id = ?';
      const rs = await client.execute(cql, [m], { prepare: true });
      expect(rs.rows).toHaveLength(40);
      for (const r of rs.rows) {
        const i = ((r.window_start as Date).getTime() - t0) / 60_000;
        const end = t0 + i * 60_000 + 300_000;
        expect([(r.window_end as Date).getTime(), r.status, Number(r.cnt), r.sum_amount, Number(r.n_users), r.final]).toEqual([end, 'captured', i + 1, (i + 1) * 10, 1, true]);
        expect(Number(r.wt)).toBe(end * 1000);
        expect(r.updated_at_ms).toBeNull(); // redundant with the write time: not written any more
      }
    }
    const users = await client.execute('SELECT user_id, ts_ms FROM risk_scores_by_user WHERE user_id IN (?, ?, ?, ?)', ['u0', 'u1', 'u2', 'u3'], { prepare: true });
    expect(users.rows).toHaveLength(40);
  });

  it('an older value never overwrites a newer one, whatever the order of the drains', async () => {
    await sink.perform([window('m9', 0, 7)]);
    const older = window('m9', 0, 3);
    (older as { row: Record<string, unknown> }).row.window_end = t0 + 100_000;
    await sink.perform([older, window('m9', 1, 1)]);
    const rs = await client.execute('SELECT cnt FROM merchant_windows WHERE merchant_id = ? AND window_start = ?', ['m9', new Date(t0)], { prepare: true });
    expect(Number(rs.first().cnt)).toBe(7);
  });

  const noLive = { latestForUser: async () => null, forEvent: async () => null } as unknown as LiveScoreReader;
  const withReader = async (body: (reader: StoreLookupReader) => Promise<void>) => {
    const reader = new StoreLookupReader({ ...config.cassandra, contactPoints: config.cassandra.contactPoints, keyspace, live: noLive, graph: { currentUser: async () => null } });
    try {
      await body(reader);
    } finally {
      await reader.close();
    }
  };

  it('stores features as the compact vector the lookup reader decodes, and still reads rows written with the map', async () => {
    const features = { velocity_1h_count: 4, amount: 99.5, amount_zscore: -1.25, new_device: 1 };
    const record = { event_id: 'ev-vec', user_id: 'u-vec', merchant_id: 'm1', ts_ms: t0 + 5, score: 0.75, decision: 'review', reasons: ['new_device'], features, model_version: 'v1' };
    await sink.perform([{ type: 'upsert', sink: 'risk_scores_by_event', row: record }, { type: 'upsert', sink: 'risk_scores_by_user', row: record }]);
    const raw = await client.execute('SELECT features, features_v FROM risk_scores_by_user WHERE user_id = ?', ['u-vec'], { prepare: true });
    expect(raw.first().features).toBeNull(); // the map column is not written any more
    expect((raw.first().features_v as Buffer).length).toBe(2 + 8 * 16);
    // Rows as migration 001 wrote them: the map, no vector, the whole score in both tables.
    const cols = '(event_id, user_id, merchant_id, ts_ms, score, decision, reasons, features, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
    const old = ['ev-map', 'u-map', 'm1', t0, 0.1, 'allow', [], { amount: 3 }, 'v0'];
    await client.execute(`INSERT INTO risk_scores_by_event ${cols}`, old, { prepare: true });
    await client.execute(`INSERT INTO risk_scores_by_user ${cols}`, old, { prepare: true });
    await withReader(async (reader) => {
      expect(await reader.scoreByEvent('ev-vec')).toEqual({ ...record, ts_ms: t0 + 5 });
      expect(await reader.latestUserScore('u-vec')).toMatchObject({ event_id: 'ev-vec', features });
      expect((await reader.scoreByEvent('ev-map'))?.features).toEqual({ amount: 3 });
    });
  });

  it('writes only the key into risk_scores_by_user by event, and reads the score there', async () => {
    const record = { event_id: 'ev-idx', user_id: 'u-idx', merchant_id: 'm7', ts_ms: t0 + 9, score: 0.5, decision: 'block', reasons: ['a', 'b'], features: { amount: 1 }, model_version: 'v2' };
    await sink.perform([{ type: 'upsert', sink: 'risk_scores_by_user', row: record }, { type: 'upsert', sink: 'risk_scores_by_event', row: record }]);
    const rs = await client.execute('SELECT user_id, ts_ms, merchant_id, score, decision, reasons, features, features_v, model_version, WRITETIME(user_id) AS wt FROM risk_scores_by_event WHERE event_id = ?', ['ev-idx'], { prepare: true });
    const row = rs.first();
    expect([row.user_id, Number(row.ts_ms), Number(row.wt)]).toEqual(['u-idx', t0 + 9, (t0 + 9) * 1000]);
    for (const column of ['merchant_id', 'score', 'decision', 'reasons', 'features', 'features_v', 'model_version']) expect(row[column]).toBeNull();
    // An old full by-event row (migration 002: vector) whose by-user row is gone is still served
    // from the by-event row; an index row without its by-user row (not written yet) is no score.
    await client.execute(
      'INSERT INTO risk_scores_by_event (event_id, user_id, merchant_id, ts_ms, score, decision, reasons, features_v, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ['ev-old', 'u-gone', 'm1', t0, 0.2, 'review', ['x'], encodeFeatureVector({ amount: 5 }), 'v1'], { prepare: true },
    );
    await client.execute('INSERT INTO risk_scores_by_event (event_id, user_id, ts_ms) VALUES (?, ?, ?)', ['ev-half', 'u-gone', t0], { prepare: true });
    await withReader(async (reader) => {
      expect(await reader.scoreByEvent('ev-idx')).toEqual(record);
      expect(await reader.scoreByEvent('ev-old')).toEqual({ event_id: 'ev-old', user_id: 'u-gone', merchant_id: 'm1', ts_ms: t0, score: 0.2, decision: 'review', reasons: ['x'], features: { amount: 5 }, model_version: 'v1' });
      expect(await reader.scoreByEvent('ev-half')).toBeNull();
      expect(await reader.scoreByEvent('ev-none')).toBeNull();
    });
  });

  it('refuses, as a non-retriable sink failure, a score whose features it cannot encode', async () => {
    const bad = { ...(score('u-bad', 1) as { row: Record<string, unknown> }).row, features: { amount: 1, not_a_feature: 2 } };
    await expect(sink.perform([{ type: 'upsert', sink: 'risk_scores_by_user', row: bad }])).rejects.toMatchObject({ code: 'SINK_FAILED', retriable: false });
    const rs = await client.execute('SELECT user_id FROM risk_scores_by_user WHERE user_id = ?', ['u-bad'], { prepare: true });
    expect(rs.rows).toHaveLength(0);
  });
});
