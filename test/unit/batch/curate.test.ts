import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbCuratedLake } from '../../../src/adapters/duckdb/curated.ts';
import { LakeSql } from '../../../src/adapters/duckdb/lake-sql.ts';
import { CuratedCatalog } from '../../../src/adapters/file/curated-catalog.ts';
import { writeDimensions } from '../../../src/adapters/parquet/dimension-writer.ts';
import { BronzeLakeReader } from '../../../src/adapters/duckdb/bronze-reader.ts';
import { type CurateInput, runCurate } from '../../../src/batch/curate.ts';
import { runQualityCheck } from '../../../src/batch/quality-check.ts';
import { CURATED_TABLES } from '../../../src/batch/ports.ts';
import type { PaymentEvent } from '../../../src/contract/event.ts';
import { dimensionRows } from '../../../src/generator/dimensions.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';
import { writeBronzeLake } from '../../support/bronze-lake.ts';
import { jobContext, MemoryReports } from '../../support/batch-memory.ts';
import { type ArrivedEvent, curatedOracle, decimalUnits } from '../../support/curated-oracle.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const traffic = generateTraffic(generatorOptions({ seed: 'curate', events: 6_000, startMs: START, periodMs: 4 * DAY }));
const fullDims = dimensionRows(traffic);
// One merchant without a dimension row: its payments keep nulls and are counted as unmatched.
const dims = { ...fullDims, merchants: fullDims.merchants.filter((m) => m.merchant_id !== 'm_0003') };
const partitionOf = (e: PaymentEvent) => e.merchant_id.charCodeAt(e.merchant_id.length - 1) % 3;
const INPUT: CurateInput = { rebuildDays: 2, contextDays: 7, keepSnapshots: 2, settleMs: 60_000 };

let dir: string;
const paths = () => ({ bronzeDir: join(dir, 'bronze'), dimensionsDir: join(dir, 'dim'), curatedDir: join(dir, 'curated') });
const arrived: ArrivedEvent[] = [];
const offsets = new Map<number, number>();

/** Appends records through the archiver's commit path; the oracle sees the same partitions/offsets. */
async function append(list: readonly { event: PaymentEvent; arrivedMs: number }[], firstOffset: number): Promise<void> {
  await writeBronzeLake(paths().bronzeDir, list.map((r) => ({ partition: partitionOf(r.event), event: r.event, timestampMs: r.arrivedMs })), firstOffset);
  for (const r of list) {
    const p = partitionOf(r.event);
    const offset = offsets.get(p) ?? firstOffset;
    offsets.set(p, offset + 1);
    arrived.push({ event: r.event, partition: p, offset, arrivedMs: r.arrivedMs });
  }
}

async function curatedRows(sql: string): Promise<Record<string, unknown>[]> {
  const lake = await LakeSql.open({ ...paths(), lineageDir: join(dir, 'lineage') });
  try {
    return await lake.query.rows(sql);
  } finally {
    lake.close();
  }
}

/** Every curated table, read through the current snapshot, equals the oracle over `dates`. */
async function expectMatchesOracle(cut: { toMs: number; arrivedBeforeMs: number }, dates: Set<string>): Promise<void> {
  const oracle = curatedOracle(arrived, dims, { contextFromMs: 0, ...cut, dates });
  const payments = await curatedRows(`SELECT *, strftime(event_date, '%Y-%m-%d') AS d FROM payments WHERE d IN (${[...dates].map((d) => `'${d}'`).join(',')})`);
  expect(payments.length).toBe(oracle.payments.size);
  for (const row of payments) {
    const want = oracle.payments.get(String(row.event_id));
    expect(want, String(row.event_id)).toBeDefined();
    expect({
      event_date: row.d, user_id: row.user_id, merchant_id: row.merchant_id, status: row.status, amount: row.amount,
      risk_bucket: row.risk_bucket, merchant_category: row.merchant_category, user_home_country: row.user_home_country, cross_border: row.cross_border,
    }).toEqual({
      event_date: want!.event_date, user_id: want!.user_id, merchant_id: want!.merchant_id, status: want!.status, amount: want!.amount,
      risk_bucket: want!.risk_bucket, merchant_category: want!.merchant_category, user_home_country: want!.user_home_country, cross_border: want!.cross_border,
    });
    expect(Number(row.amount_usd)).toBeCloseTo(want!.amount_usd ?? Number.NaN, 6);
    expect(Number(row.rolling_amount_usd) / want!.rolling_amount_usd!).toBeCloseTo(1, 9);
  }
  const daily = await curatedRows(`SELECT *, strftime(event_date, '%Y-%m-%d') AS d FROM merchant_daily`);
  const inDates = [...oracle.merchantDays].filter(([k]) => dates.has(k.split('|')[0]!));
  expect(daily.filter((r) => dates.has(String(r.d))).length).toBe(inDates.length);
  for (const r of daily.filter((x) => dates.has(String(x.d)))) {
    const want = oracle.merchantDays.get(`${r.d}|${r.merchant_id}`)!;
    expect([Number(r.cnt), decimalUnits(r.sum_amount), Number(r.distinct_users)]).toEqual([want.cnt, want.units, want.users.size]);
    for (const s of ['authorized', 'captured', 'refunded', 'failed']) {
      const ws = want.byStatus.get(s) ?? { cnt: 0, units: 0 };
      expect([Number(r[`${s}_cnt`]), decimalUnits(r[`${s}_sum_amount`])], `${r.d} ${r.merchant_id} ${s}`).toEqual([ws.cnt, ws.units]);
    }
  }
  const long = await curatedRows(`SELECT *, strftime(event_date, '%Y-%m-%d') AS d FROM merchant_daily_status`);
  const wantLong = inDates.flatMap(([k, v]) => [...v.byStatus].map(([s, x]) => `${k}|${s}|${x.cnt}|${x.units}`)).sort();
  expect(long.filter((r) => dates.has(String(r.d))).map((r) => `${r.d}|${r.merchant_id}|${r.status}|${r.cnt}|${decimalUnits(r.sum_amount)}`).sort()).toEqual(wantLong);
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** The UTC dates from the one of `from` through the one of `to`. */
function dateSet(from: number, to: number): Set<string> {
  const out = new Set<string>();
  for (let t = Date.parse(`${isoDay(from)}T00:00:00Z`); t <= to; t += DAY) out.add(isoDay(t));
  return out;
}

describe('curate: the curated layer against a brute-force oracle', () => {
  const lastTs = Math.max(...traffic.emissions.map((e) => e.event.ts_ms));
  const asOf1 = lastTs + 2 * 3_600_000;
  const reports = new MemoryReports();
  const now = Date.now; // the GC compares it with the files' real modification times (orphan age 0 here)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'curate-'));
    // Kafka timestamps follow the generator's clock, so duplicates and late events arrive late.
    await append(traffic.emissions.map((e, i) => ({ event: e.event as PaymentEvent, arrivedMs: e.clock_ms + 1_000 + i })), 0);
    await writeDimensions(paths().dimensionsDir, 'master', dims);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('the first run curates every bronze date: joins, rolling amounts, pivot and unpivot equal the oracle', async () => {
    const lake = new DuckDbCuratedLake(paths(), 0);
    const report = await runCurate({ curated: lake, reports, now }, INPUT, jobContext(asOf1));
    const dates = dateSet(START, lastTs);
    expect(report.dates).toEqual([...dates]);
    expect(report.snapshot).toBe(1);
    await expectMatchesOracle({ toMs: asOf1, arrivedBeforeMs: asOf1 - INPUT.settleMs }, dates);
    const oracle = curatedOracle(arrived, dims, { contextFromMs: 0, toMs: asOf1, arrivedBeforeMs: asOf1 - INPUT.settleMs, dates });
    expect(report.rows.payments).toBe(oracle.payments.size);
    expect(report.unmatched.merchants).toBe([...oracle.payments.values()].filter((p) => p.merchant_id === 'm_0003').length);
    expect(report.unmatched.merchants).toBeGreaterThan(0);
    expect(report.unmatched.users).toBe(0); // fraud-created accounts are in the user dimension too
    expect(report.dimensions).toEqual({ merchants: dims.merchants.length, users: dims.users.length, fx_rates: dims.fxRates.length });
    // the planted fraud shows up where the seed's columns say: cross-border and failed high amounts
    const cross = await curatedRows(`SELECT count(*) AS n FROM payments WHERE cross_border`);
    expect(Number(cross[0]!.n)).toBe([...oracle.payments.values()].filter((p) => p.cross_border === true).length);
    expect(reports.reports.get('curate')).toEqual(report);
  });

  it('the quality check scores the curated layer as a layer of its own: dimension coverage and uniqueness', async () => {
    const lake = new DuckDbCuratedLake(paths(), 0);
    const range = { fromMs: START, toMs: asOf1 };
    const r = await runQualityCheck({ lake: new BronzeLakeReader(paths().bronzeDir), curated: lake, reports }, { lookbackMs: asOf1 - START, alertBelow: 80 }, jobContext(asOf1));
    expect(r.layer).toBe('bronze');
    expect(r.layers.map((l) => l.layer)).toEqual(['curated']);
    const curated = r.layers[0]!;
    const oracle = curatedOracle(arrived, dims, { contextFromMs: 0, ...range, arrivedBeforeMs: asOf1 - INPUT.settleMs, dates: dateSet(START, lastTs) });
    expect(curated.rows).toBe(oracle.payments.size);
    const unexpected = Object.fromEntries(curated.results.map((x) => [x.name, x.unexpected]));
    const noMerchant = [...oracle.payments.values()].filter((p) => p.merchant_category === null).length;
    expect(unexpected).toMatchObject({ 'event_id unique': 0, 'merchant dimension matched': noMerchant, 'user dimension matched': 0, 'FX rate matched': 0, 'risk_bucket known': 0 });
    // the documented score: Σ weight · min(1, success / mostly) / Σ weight
    const share = 1 - noMerchant / oracle.payments.size;
    const weights = curated.results.reduce((n, x) => n + x.weight, 0);
    expect(curated.score).toBeCloseTo((100 * (weights - 2 + 2 * Math.min(1, share / 0.99))) / weights, 1);
    expect(await new DuckDbCuratedLake({ ...paths(), curatedDir: join(dir, 'no-curated') }).payments(range)).toBeNull();
  });

  it('later runs rebuild recent dates only (late rows included there), keep older days, and a retry publishes nothing new', async () => {
    const lake = new DuckDbCuratedLake(paths(), 0);
    const before = (await new CuratedCatalog(paths().curatedDir).current())!;
    const asOf2 = asOf1 + 3_600_000;
    const lastDay = new Date(lastTs).toISOString().slice(0, 10);
    const firstDay = new Date(START).toISOString().slice(0, 10);
    const late = (id: string, ts: number): PaymentEvent => ({ event_id: id, ts_ms: ts, user_id: 'u_late', merchant_id: 'm_0001', amount: 42.5, currency: 'USD', status: 'failed', country: 'US' });
    // arrive after run 1's cut: one in the rebuilt window, one 3 days back, one inside the settle time
    await append([
      { event: late('late-recent', lastTs - 1_000), arrivedMs: asOf1 + 60_000 },
      { event: late('late-old', START + 3_600_000), arrivedMs: asOf1 + 61_000 },
      { event: late('too-fresh', lastTs - 2_000), arrivedMs: asOf2 - 1_000 },
    ], 1_000_000);
    const r2 = await runCurate({ curated: lake, reports, now }, INPUT, jobContext(asOf2));
    expect(r2.dates).toEqual([...dateSet(asOf2 - 2 * DAY, lastTs)]);
    const after = (await new CuratedCatalog(paths().curatedDir).current())!;
    expect(after.seq).toBe(2);
    // days not rebuilt: the same files as before, untouched
    expect(after.tables.payments[firstDay]).toEqual(before.tables.payments[firstDay]);
    const ids = (await curatedRows(`SELECT event_id FROM payments WHERE user_id = 'u_late' ORDER BY ALL`)).map((r) => r.event_id);
    expect(ids).toEqual(['late-recent']);
    await expectMatchesOracle({ toMs: asOf2, arrivedBeforeMs: asOf2 - INPUT.settleMs }, new Set(r2.dates));
    expect(after.tables.payments[lastDay]!.files).not.toEqual(before.tables.payments[lastDay]!.files);

    // a retry of the same as-of time (BullMQ after a lost lock) changes nothing
    const retry = await runCurate({ curated: lake, reports, now }, INPUT, jobContext(asOf2));
    expect(retry.snapshot).toBe(2);
    expect((await new CuratedCatalog(paths().curatedDir).current())!.seq).toBe(2);

    // a backfill from the first date picks up the old late row; everything equals the oracle
    const asOf3 = asOf2 + 3_600_000;
    const r3 = await runCurate({ curated: lake, reports, now }, INPUT, { ...jobContext(asOf3), params: { from: firstDay } });
    expect(r3.dates[0]).toBe(firstDay);
    expect((await curatedRows(`SELECT event_id FROM payments WHERE user_id = 'u_late' ORDER BY ALL`)).map((r) => r.event_id)).toEqual(['late-old', 'late-recent', 'too-fresh']);
    await expectMatchesOracle({ toMs: asOf3, arrivedBeforeMs: asOf3 - INPUT.settleMs }, dateSet(START, lastTs));

    // GC: only the newest 2 snapshots stay, and exactly the files they list are on disk
    const catalog = new CuratedCatalog(paths().curatedDir);
    expect((await readdir(join(paths().curatedDir, '_catalog'))).sort()).toEqual(['snap-0000000002.json', 'snap-0000000003.json']);
    const listed = new Set<string>();
    for (const seq of [2, 3]) for (const t of CURATED_TABLES) for (const f of CuratedCatalog.files(await catalog.read(seq), t)) listed.add(f);
    const onDisk: string[] = [];
    for (const t of CURATED_TABLES) for (const d of await readdir(join(paths().curatedDir, t))) for (const f of await readdir(join(paths().curatedDir, t, d))) onDisk.push(`${t}/${d}/${f}`);
    expect(onDisk.sort()).toEqual([...listed].sort());
    expect(before.tables.payments[lastDay]!.files.every((f) => !existsSync(join(paths().curatedDir, f)))).toBe(true);
  });

  it('two runs publishing the same snapshot number: the second is refused', async () => {
    const lake = new DuckDbCuratedLake(paths(), 0);
    const current = (await lake.current())!;
    await expect(lake.publish({ ...current, runId: 'other-run' })).rejects.toMatchObject({ code: 'CURATED_CONFLICT' });
    expect((await lake.current())!.runId).toBe(current.runId);
  });

  it('a bad backfill date is a terminal config error; an empty lake curates nothing', async () => {
    const lake = new DuckDbCuratedLake(paths(), 0);
    await expect(runCurate({ curated: lake, reports, now }, INPUT, { ...jobContext(asOf1), params: { from: '2026-13-01' } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const empty = new DuckDbCuratedLake({ bronzeDir: join(dir, 'none'), dimensionsDir: join(dir, 'none'), curatedDir: join(dir, 'none-curated') });
    const r = await runCurate({ curated: empty, reports, now }, INPUT, jobContext(asOf1));
    expect(r.dates).toEqual([]);
    expect(r.rows).toEqual({ payments: 0, merchant_daily: 0, merchant_daily_status: 0 });
    // bronze dates that appear later (the archiver started after the first curate, a backfill
    // of old data) are curated by the next run however old they are
    const events = [0, 1].map((i): PaymentEvent => ({ event_id: `old-${i}`, ts_ms: START + i * DAY, user_id: 'u', merchant_id: 'm_0001', amount: 1, currency: 'USD', status: 'captured' }));
    await writeBronzeLake(join(dir, 'none'), events.map((event) => ({ partition: 0, event, timestampMs: START })));
    const next = await runCurate({ curated: empty, reports, now }, INPUT, jobContext(asOf1 + 10 * DAY));
    expect([next.dates, next.rows.payments]).toEqual([['2026-01-01', '2026-01-02'], 2]);
  });
});
