import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbCuratedLake } from '../../../src/adapters/duckdb/curated.ts';
import { writeDimensions } from '../../../src/adapters/parquet/dimension-writer.ts';
import { runCurate } from '../../../src/batch/curate.ts';
import { formatRows } from '../../../src/cli/sql-format.ts';
import type { PaymentEvent } from '../../../src/contract/event.ts';
import { writeBronzeLake } from '../../support/bronze-lake.ts';
import { jobContext, MemoryReports } from '../../support/batch-memory.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const T0 = Date.UTC(2026, 2, 1, 10);
let dir: string;

const event = (id: string, i: number, status: PaymentEvent['status']): PaymentEvent => ({
  event_id: id, ts_ms: T0 + i * 60_000, user_id: `u${i % 2}`, merchant_id: 'm1', amount: 10 + i, currency: 'EUR', status,
});

/** `npm run sql` as a user runs it, on this test's lake; resolves with the exit code too. */
async function sql(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    RISKSTREAM_BRONZE_DIR: join(dir, 'bronze'),
    RISKSTREAM_BATCH_CURATED_DIR: join(dir, 'curated'),
    RISKSTREAM_BATCH_DIMENSIONS_DIR: join(dir, 'dim'),
    RISKSTREAM_BATCH_LINEAGE_DIR: join(dir, 'lineage'),
  };
  try {
    const r = await run(join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/sql.ts', ...args], { cwd: ROOT, env });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run sql: history SQL over the lake', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sql-'));
    const statuses: PaymentEvent['status'][] = ['captured', 'captured', 'failed', 'refunded', 'captured'];
    await writeBronzeLake(join(dir, 'bronze'), [
      ...statuses.map((s, i) => ({ partition: 0, event: event(`e${i}`, i, s), timestampMs: T0 + i * 60_000 + 500 })),
      { partition: 0, event: event('e0', 0, 'captured'), timestampMs: T0 + 3_600_000 }, // a duplicate: bronze keeps it, curated does not
    ]);
    await writeDimensions(join(dir, 'dim'), 'master', {
      merchants: [{ merchant_id: 'm1', category: 'grocery', country: 'DE', currency: 'EUR' }],
      users: [{ user_id: 'u0', home_country: 'DE', registered_devices: 1 }],
      fxRates: [{ currency: 'EUR', usd_per_unit: 1.1 }],
    });
    const paths = { bronzeDir: join(dir, 'bronze'), dimensionsDir: join(dir, 'dim'), curatedDir: join(dir, 'curated') };
    await runCurate({ curated: new DuckDbCuratedLake(paths), reports: new MemoryReports(), now: Date.now }, { rebuildDays: 2, contextDays: 1, keepSnapshots: 2, settleMs: 0 }, jobContext(T0 + 2 * 3_600_000));
  }, 60_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('answers a query over the curated tables (duplicates gone) and bronze (duplicates kept)', async () => {
    const r = await sql('--format', 'json', `SELECT status, count(*) AS n, sum(amount) AS amount FROM payments GROUP BY ALL ORDER BY status`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { status: 'captured', n: '3', amount: 10 + 11 + 14 },
      { status: 'failed', n: '1', amount: 12 },
      { status: 'refunded', n: '1', amount: 13 },
    ]);
    const raw = await sql('--format', 'csv', 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM bronze');
    expect(raw.stdout).toBe('n,ids\n6,5\n');
    const daily = await sql('--format', 'json', 'SELECT captured_cnt, failed_cnt, refunded_cnt, authorized_cnt, distinct_users FROM merchant_daily');
    expect(JSON.parse(daily.stdout)).toEqual({ captured_cnt: '3', failed_cnt: '1', refunded_cnt: '1', authorized_cnt: '0', distinct_users: '2' });
  }, 60_000);

  it('--tables lists the views with their row counts', async () => {
    const r = await sql('--tables', '--format', 'json');
    expect(r.code).toBe(0);
    const views = Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { view: string; rows: number }).map((v) => [v.view, v.rows]));
    expect(views).toMatchObject({ bronze: 6, payments: 5, merchant_daily: 1, merchant_daily_status: 3, dim_merchants: 1, dim_users: 1, dim_fx_rates: 1, curated_days: 3 });
  }, 60_000);

  it('a bad query or bad usage exits 2 with a one-line reason, no stack trace', async () => {
    const bad = await sql('SELECT nope FROM payments');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^SQL_FAILED: .*nope.*\(views: bronze, payments, merchant_daily, merchant_daily_status, curated_days, dim_merchants, dim_users, dim_fx_rates\)\n$/);
    const none = await sql();
    expect([none.code, none.stderr]).toEqual([2, 'USAGE: give a query, --file <path> or --tables\n']);
    const fmt = await sql('--format', 'xml', 'SELECT 1');
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toContain('--format must be table, csv or json');
  }, 60_000);
});

describe('formatRows', () => {
  const rows = [{ a: 1, b: 'x,"y"' }, { a: null, b: 'z' }];
  it('renders a table, CSV with RFC 4180 quoting, JSON lines, and respects max rows', () => {
    expect(formatRows(rows, 'table', 10)).toBe('a     b\n----  -----\n1     x,"y"\nNULL  z\n(2 rows)\n');
    expect(formatRows(rows, 'csv', 10)).toBe('a,b\n1,"x,""y"""\n,z\n');
    expect(formatRows(rows, 'json', 1)).toBe('{"a":1,"b":"x,\\"y\\""}\n');
    expect(formatRows([], 'table', 10)).toBe('(no rows)\n');
  });
});
