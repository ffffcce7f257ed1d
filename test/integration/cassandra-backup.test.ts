import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreCassandra } from '../../src/adapters/cassandra/backup.ts';
import { parseCassandraManifest } from '../../src/adapters/cassandra/backup-values.ts';
import { dropKeyspace, migrate } from '../../src/adapters/cassandra/migrate.ts';
import { CassandraUpsertSink } from '../../src/adapters/cassandra/upsert-sink.ts';
import { loadMigrations } from '../../src/provision/cassandra/migrations.ts';
import type { OutputEffect } from '../../src/runtime/actor.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { backupCli, cliSummary } from '../support/backup-cli.ts';
import { testConfig, uniqueName } from '../support/services.ts';

/**
 * Logical backup and restore of the history tables on the local Cassandra, in keyspaces of this
 * test only. Rows are written by the real upsert sink (write time = event time, tables.ts). The
 * oracle is a plain read of every cell with its WRITETIME taken before the backup, and the rows
 * the test itself rewrote after it.
 *
 * After the backup: merchant_windows is TRUNCATEd (the loss), then live writes arrive: newer
 * versions of some windows, and stale (older write time) versions of others; risk_scores_by_event
 * is TRUNCATEd; risk_scores_by_user gets newer versions of some scores and a DELETE of others.
 * After the restore: every lost row is back with its original values and write times, newer
 * cells are kept, stale ones lose to the backup's, DELETEd rows stay deleted (their tombstone is
 * newer: last write wins), and a second restore changes nothing.
 */
const T0 = 1_767_225_600_000;
const MERCHANTS = 20;
const WINDOWS = 10;
const USERS = 60;
const SCORES = 5;

const window = (m: number, w: number, cnt: number, endShiftMs = 0): OutputEffect => ({
  type: 'upsert', sink: 'merchant_windows',
  row: { merchant_id: `m${m}`, window_start: T0 + w * 60_000, window_end: T0 + w * 60_000 + 300_000 + endShiftMs, status: 'captured', cnt, sum_amount: cnt * 1.5, n_users: cnt % 7, final: w % 2 === 0 },
});
const score = (u: number, i: number, value: number): OutputEffect => ({
  type: 'upsert', sink: 'risk_scores_by_user',
  row: { user_id: `u${u}`, ts_ms: T0 + i * 1_000, event_id: `e-${u}-${i}`, merchant_id: `m${u % MERCHANTS}`, score: value, decision: value > 0.8 ? 'review' : 'allow', reasons: ['velocity', `r${i}`], features: { amount: u + i }, model_version: 'v1' },
});
const byEvent = (u: number, i: number): OutputEffect => ({
  type: 'upsert', sink: 'risk_scores_by_event', row: { event_id: `e-${u}-${i}`, user_id: `u${u}`, ts_ms: T0 + i * 1_000 },
});

/** Every row of `table` as `key → {cell: [value, writetime]}` (JSON), the test's oracle. */
async function readTable(client: cassandra.Client, table: string, keys: readonly string[], cells: readonly string[]): Promise<Map<string, string>> {
  const cql = `SELECT ${[...keys, ...cells.flatMap((c) => [c, `WRITETIME(${c})`])].join(', ')} FROM ${table}`;
  const out = new Map<string, string>();
  for await (const row of client.stream(cql, [], { prepare: true, fetchSize: 500 }) as unknown as AsyncIterable<cassandra.types.Row>) {
    const values = row.values().map((v) => (v instanceof Buffer ? v.toString('hex') : v instanceof Date ? v.getTime() : v === null ? null : String(v)));
    out.set(JSON.stringify(values.slice(0, keys.length)), JSON.stringify(values.slice(keys.length)));
  }
  return out;
}

const WINDOW_KEYS = ['merchant_id', 'window_start', 'status'];
const WINDOW_CELLS = ['window_end', 'cnt', 'sum_amount', 'n_users', 'final'];
const SCORE_KEYS = ['user_id', 'ts_ms', 'event_id'];
const SCORE_CELLS = ['merchant_id', 'score', 'decision', 'reasons', 'features_v', 'model_version'];
const EVENT_KEYS = ['event_id'];
const EVENT_CELLS = ['user_id', 'ts_ms'];

describe('Cassandra history backup and restore', () => {
  const keyspace = uniqueName('it_bk');
  const oldSchema = uniqueName('it_bk_old');
  const config = testConfig({ cassandra: { keyspace } });
  const env = { RISKSTREAM_CASSANDRA_KEYSPACE: keyspace, RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn' };
  const dir = mkdtempSync(join(tmpdir(), 'rs-cql-backup-'));
  let sink: CassandraUpsertSink;
  let client: cassandra.Client;

  beforeAll(async () => {
    await migrate(config);
    sink = new CassandraUpsertSink({ ...config.cassandra });
    client = new cassandra.Client({ contactPoints: [...config.cassandra.contactPoints], localDataCenter: config.cassandra.localDataCenter, keyspace });
    await client.connect();
  });

  afterAll(async () => {
    await sink?.close();
    await client?.shutdown();
    await dropKeyspace(config, keyspace);
    await dropKeyspace(config, oldSchema).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings lost rows back with their write times and never overwrites newer cells', async () => {
    const effects: OutputEffect[] = [];
    for (let m = 0; m < MERCHANTS; m += 1) for (let w = 0; w < WINDOWS; w += 1) effects.push(window(m, w, 10 + m + w));
    for (let u = 0; u < USERS; u += 1) for (let i = 0; i < SCORES; i += 1) effects.push(score(u, i, ((u * 7 + i) % 10) / 10), byEvent(u, i));
    await sink.perform(effects);
    // One cell with a TTL, written by hand: its TTL must come back counted down, not renewed.
    await client.execute('INSERT INTO merchant_stats (merchant_id, total_cnt, as_of_ms) VALUES (?, ?, ?) USING TIMESTAMP ? AND TTL 3600', ['m0', 5, T0, T0 * 1000], { prepare: true });

    const windows = await readTable(client, 'merchant_windows', WINDOW_KEYS, WINDOW_CELLS);
    const scores = await readTable(client, 'risk_scores_by_user', SCORE_KEYS, SCORE_CELLS);
    const events = await readTable(client, 'risk_scores_by_event', EVENT_KEYS, EVENT_CELLS);
    expect([windows.size, scores.size, events.size]).toEqual([MERCHANTS * WINDOWS, USERS * SCORES, USERS * SCORES]);

    const backup = await backupCli(['cassandra', '--out', join(dir, 'b')], env);
    expect(backup.code, backup.stderr).toBe(0);
    const manifest = parseCassandraManifest(readFileSync(join(dir, 'b', 'manifest.json'), 'utf8'));
    const rowsOf = (t: string) => manifest.tables.find((x) => x.name === t)?.rows;
    expect(manifest.schema.version).toBe(loadMigrations().at(-1)!.version);
    expect([rowsOf('merchant_windows'), rowsOf('risk_scores_by_user'), rowsOf('risk_scores_by_event'), rowsOf('merchant_stats')]).toEqual([200, 300, 300, 1]);

    // The loss, then live writes after it.
    await client.execute('TRUNCATE merchant_windows', [], { readTimeout: 60_000 });
    await client.execute('TRUNCATE risk_scores_by_event', [], { readTimeout: 60_000 });
    await sink.perform([
      ...Array.from({ length: 10 }, (_, m) => window(m, 0, 999, 60_000)), // newer: window_end (the write time) 1 min later
      ...Array.from({ length: 5 }, (_, m) => window(m, 1, 111, -60_000)), // stale: 1 min older than the backed-up cells
    ]);
    // Newer scores need a newer write time: rewrite with a timestamp 1 s past the original.
    for (let u = 0; u < 10; u += 1) {
      await client.execute('UPDATE risk_scores_by_user USING TIMESTAMP ? SET score = ? WHERE user_id = ? AND ts_ms = ? AND event_id = ?', [(T0 + 1_000) * 1000, 0.99, `u${u}`, T0, `e-${u}-0`], { prepare: true });
    }
    for (let u = 10; u < 20; u += 1) await client.execute('DELETE FROM risk_scores_by_user WHERE user_id = ? AND ts_ms = ? AND event_id = ?', [`u${u}`, T0, `e-${u}-0`], { prepare: true });
    const newerWindows = await readTable(client, 'merchant_windows', WINDOW_KEYS, WINDOW_CELLS);
    const newerScores = await readTable(client, 'risk_scores_by_user', SCORE_KEYS, SCORE_CELLS);
    expect(newerWindows.size).toBe(15);

    const restore = await backupCli(['restore-cassandra', '--from', join(dir, 'b')], env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(cliSummary<{ tables: { name: string; rows: number }[] }>(restore).tables.map((t) => t.rows)).toEqual(manifest.tables.map((t) => t.rows));

    // merchant_windows: every window back; the 10 newer ones keep their values, the 5 stale ones lost.
    const windowsAfter = await readTable(client, 'merchant_windows', WINDOW_KEYS, WINDOW_CELLS);
    expect(windowsAfter.size).toBe(rowsOf('merchant_windows'));
    for (const [key, cells] of windowsAfter) {
      const newer = newerWindows.get(key);
      if (newer !== undefined && JSON.parse(newer)[2] === '999') expect(cells, key).toBe(newer);
      else expect(cells, key).toBe(windows.get(key));
    }
    expect([...windowsAfter.values()].filter((c) => JSON.parse(c)[2] === '999')).toHaveLength(10);
    // risk_scores_by_event: the whole table back, identical (values and write times).
    expect(await readTable(client, 'risk_scores_by_event', EVENT_KEYS, EVENT_CELLS)).toEqual(events);
    // risk_scores_by_user: newer scores kept; the DELETEd rows stay deleted (newer tombstones); the rest as before.
    const scoresAfter = await readTable(client, 'risk_scores_by_user', SCORE_KEYS, SCORE_CELLS);
    expect(scoresAfter.size).toBe(USERS * SCORES - 10);
    for (const [key, cells] of scoresAfter) expect(cells, key).toBe(newerScores.get(key) ?? scores.get(key));
    expect([...scoresAfter.values()].filter((c) => JSON.parse(c)[2] === '0.99')).toHaveLength(10);
    const ttl = (await client.execute('SELECT TTL(total_cnt) AS t, WRITETIME(total_cnt) AS w FROM merchant_stats WHERE merchant_id = ?', ['m0'], { prepare: true })).rows[0]!;
    expect(Number(ttl.get('w'))).toBe(T0 * 1000);
    expect(Number(ttl.get('t'))).toBeLessThanOrEqual(3600);
    expect(Number(ttl.get('t'))).toBeGreaterThan(3400);

    // Restoring again changes nothing.
    await restoreCassandra({ config, fromDir: join(dir, 'b'), logger: silentLogger() });
    expect(await readTable(client, 'merchant_windows', WINDOW_KEYS, WINDOW_CELLS)).toEqual(windowsAfter);
    expect(await readTable(client, 'risk_scores_by_user', SCORE_KEYS, SCORE_CELLS)).toEqual(scoresAfter);
  });

  it('refuses a target at another schema version and a backup file that does not match its manifest', async () => {
    const from = join(dir, 'b');
    await migrate(testConfig({ cassandra: { keyspace: oldSchema } }), { migrations: loadMigrations().slice(0, 1) });
    const refused = await backupCli(['restore-cassandra', '--from', from], { ...env, RISKSTREAM_CASSANDRA_KEYSPACE: oldSchema });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('RESTORE_SCHEMA_MISMATCH');
    expect((await client.execute(`SELECT COUNT(*) AS n FROM ${oldSchema}.merchant_windows`)).rows[0]!.get('n').toNumber()).toBe(0);

    appendFileSync(join(from, 'merchant_stats.jsonl'), '{"k":["m9"],"c":{}}\n');
    await expect(restoreCassandra({ config, fromDir: from, logger: silentLogger() })).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
  });
});
