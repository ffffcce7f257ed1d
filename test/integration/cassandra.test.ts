import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropKeyspace, migrate } from '../../src/adapters/cassandra/migrate.ts';
import { loadMigrations } from '../../src/provision/cassandra/migrations.ts';
import { testConfig, uniqueName } from '../support/services.ts';

// The migration runner and cassandra-driver against the local Cassandra, in a keyspace of
// this test only (dropped at the end).
describe('Cassandra on the local stack', () => {
  const keyspace = uniqueName('it_cql');
  const config = testConfig({ cassandra: { keyspace } });
  let client: cassandra.Client;

  beforeAll(async () => {
    const result = await migrate(config);
    expect(result.applied.map((m) => m.version)).toEqual(loadMigrations().map((m) => m.version));
    client = new cassandra.Client({
      contactPoints: [...config.cassandra.contactPoints],
      localDataCenter: config.cassandra.localDataCenter,
      keyspace,
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.shutdown();
    await dropKeyspace(config, keyspace);
  });

  it('records applied migrations and applies nothing twice', async () => {
    const again = await migrate(config);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.map((m) => m.name)).toContain('init');
    const rows = await client.execute('SELECT version, name, checksum FROM schema_migrations');
    expect(rows.rows.map((r) => [r.get('version'), r.get('name')]).sort()).toEqual([[1, 'init'], [2, 'compact_features']]);
  });

  it('refuses a changed applied migration', async () => {
    const changed = loadMigrations().map((m) => ({ ...m, checksum: `${m.checksum.slice(0, -1)}x` }));
    await expect(migrate(config, { migrations: changed })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('writes and reads risk scores newest first', async () => {
    const insert =
      'INSERT INTO risk_scores_by_user (user_id, ts_ms, event_id, merchant_id, score, decision, reasons, features, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
    for (const [ts, id, score] of [
      [1_000, 'e1', 0.1],
      [3_000, 'e3', 0.9],
      [2_000, 'e2', 0.5],
    ] as const) {
      await client.execute(
        insert,
        [
          'u1',
          ts,
          id,
          'm1',
          score,
          score > 0.8 ? 'decline' : 'approve',
          ['velocity'],
          { amount_z: 2.5 },
          'v1',
        ],
        {
          prepare: true,
        },
      );
    }
    const result = await client.execute(
      'SELECT event_id, score, reasons, features FROM risk_scores_by_user WHERE user_id = ?',
      ['u1'],
      {
        prepare: true,
      },
    );
    expect(result.rows.map((r) => r.get('event_id'))).toEqual(['e3', 'e2', 'e1']);
    expect(result.rows[0]!.get('reasons')).toEqual(['velocity']);
    expect(result.rows[0]!.get('features')).toEqual({ amount_z: 2.5 });
  });

  it('stores merchant windows per status, latest window first', async () => {
    const insert =
      'INSERT INTO merchant_windows (merchant_id, window_start, status, window_end, cnt, sum_amount, n_users, final, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
    const w = (startMs: number, status: string, cnt: number) =>
      client.execute(
        insert,
        ['m1', new Date(startMs), status, new Date(startMs + 300_000), cnt, cnt * 10.5, 2, false, startMs],
        {
          prepare: true,
        },
      );
    await w(0, 'ok', 3);
    await w(300_000, 'ok', 4);
    await w(300_000, 'failed', 1);
    const rows = await client.execute(
      'SELECT window_start, status, cnt FROM merchant_windows WHERE merchant_id = ?',
      ['m1'],
      {
        prepare: true,
      },
    );
    expect(
      rows.rows.map((r) => [
        (r.get('window_start') as Date).getTime(),
        r.get('status'),
        Number(r.get('cnt')),
      ]),
    ).toEqual([
      [300_000, 'failed', 1],
      [300_000, 'ok', 4],
      [0, 'ok', 3],
    ]);
  });
});
