import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/analytics/prng.ts';
import { runMerchantAnomalies } from '../../../src/batch/merchant-anomalies.ts';
import { jobContext, MemoryLake, MemoryReports } from '../../support/batch-memory.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TODAY = Date.UTC(2026, 0, 21); // the as-of day: partial, never judged
const AS_OF = TODAY + 15 * HOUR + 1234;
const LOOKBACK_DAYS = 20; // whole days 2026-01-01 .. 2026-01-20
const FROM = TODAY - LOOKBACK_DAYS * DAY;

type Row = {
  event_id: string;
  ts_ms: number;
  user_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  country: string;
  status: string;
};

const SPIKE = { merchant: 'm-b', day: Date.UTC(2026, 0, 14) };
const DEAD = { merchant: 'm-c', day: Date.UTC(2026, 0, 12) };

/**
 * Four merchants over 20 whole days: m-a, m-b, m-c noisy but steady (≈ 20 events of ≈ 50 a day),
 * a spike day for m-b (×5), a dead day for m-c; m-d perfectly flat (10 × 20.00 a day) with two
 * small changes, so the flat-baseline floor of the z-score matters. Plus rows the job must not
 * see: the as-of day (a huge spike for m-a and a merchant that only exists today), after as-of,
 * before the window, and repeated event ids.
 */
function fixture(): Row[] {
  const random = createRng(42);
  const next = () => random.next();
  const rows: Row[] = [];
  let n = 0;
  const add = (merchant: string, ts: number, amount: number) =>
    rows.push({
      event_id: `e${n++}`,
      ts_ms: ts,
      user_id: `u${n % 97}`,
      merchant_id: merchant,
      amount,
      currency: 'USD',
      country: 'VN',
      status: 'captured',
    });
  for (let day = FROM; day < TODAY; day += DAY) {
    for (const m of ['m-a', 'm-b', 'm-c']) {
      if (m === DEAD.merchant && day === DEAD.day) continue;
      let count = 16 + Math.floor(next() * 9);
      if (m === SPIKE.merchant && day === SPIKE.day) count *= 5;
      for (let i = 0; i < count; i += 1)
        add(m, day + Math.floor(next() * DAY), Math.round((30 + next() * 40) * 100) / 100);
    }
    const dayIndex = (day - FROM) / DAY;
    for (let i = 0; i < 10; i += 1) {
      const amount = i === 0 && dayIndex === 9 ? 24 : i === 0 && dayIndex === 16 ? 30 : 20;
      add('m-d', day + i * HOUR, amount);
    }
  }
  // the as-of day itself (before as-of): would be a glaring anomaly if it were judged
  for (let i = 0; i < 400; i += 1) add('m-a', TODAY + Math.floor((i * 15 * HOUR) / 400), 500);
  add('m-today', TODAY + HOUR, 10);
  add('m-a', AS_OF, 1_000); // at as-of
  add('m-a', AS_OF + DAY, 1_000); // future
  // before the window: would change m-c's and m-d's first baselines if it were read
  for (let i = 0; i < 50; i += 1) add('m-c', FROM - DAY + i * 1000, 900);
  add('m-d', FROM - 1, 5_000);
  // repeated event ids: the lake keeps the first copy, so these add nothing
  const spikeRow = rows.find(
    (r) => r.merchant_id === SPIKE.merchant && r.ts_ms >= SPIKE.day && r.ts_ms < SPIKE.day + DAY,
  )!;
  rows.push({ ...spikeRow }, { ...spikeRow, amount: 10_000 });
  const dRow = rows.find((r) => r.merchant_id === 'm-d' && r.ts_ms >= FROM)!;
  rows.push({ ...dRow, amount: 7 });
  // arrival order is not time order
  for (let i = rows.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return rows;
}

interface OracleDay {
  merchant_id: string;
  day: string;
  cnt: number;
  sum_amount: number;
  zPrev: number;
  history: number;
}

/**
 * Brute force, from timeseries.ts's documented semantics: first copy of each event id, whole UTC
 * days of [toMs − lookback, toMs), per merchant every day from its first day to the last whole day
 * before as-of (0 when empty), value = sum of |amount|; zPrev against the up-to-7 days before (fewer at the start of a
 * merchant's series): (x − mean) / max(sample sd, 1% of |mean|, 1e-9) (sample sd 0 for < 2 days);
 * anomaly when at least `minHistory` (3) earlier days and |zPrev| ≥ threshold.
 */
function oracle(rows: readonly Row[], asOf: number, lookbackDays: number, threshold: number) {
  const toMs = Math.floor(asOf / DAY) * DAY;
  const fromMs = toMs - lookbackDays * DAY;
  const seen = new Set<string>();
  const events: Row[] = [];
  for (const r of rows) {
    if (r.ts_ms < fromMs || r.ts_ms >= toMs || seen.has(r.event_id)) continue;
    seen.add(r.event_id);
    events.push(r);
  }
  const cents = new Map<string, Map<number, { cnt: number; cents: number }>>();
  for (const e of events) {
    const d = e.ts_ms - (e.ts_ms % DAY);
    const byDay = cents.get(e.merchant_id) ?? new Map();
    cents.set(e.merchant_id, byDay);
    const cell = byDay.get(d) ?? { cnt: 0, cents: 0 };
    cell.cnt += 1;
    cell.cents += Math.round(Math.abs(e.amount) * 100); // the fixture's amounts have 2 decimals
    byDay.set(d, cell);
  }
  const days: OracleDay[] = [];
  for (const [merchant, byDay] of cents) {
    const keys = [...byDay.keys()];
    const values: number[] = [];
    // every merchant runs through the last whole day before as-of (a silent tail is judged too)
    for (let d = Math.min(...keys); d <= toMs - DAY; d += DAY) {
      const cell = byDay.get(d) ?? { cnt: 0, cents: 0 };
      const x = cell.cents / 100;
      const prev = values.slice(-7);
      let zPrev = 0;
      if (prev.length > 0) {
        const m = prev.reduce((a, b) => a + b, 0) / prev.length;
        const sd =
          prev.length < 2 ? 0 : Math.sqrt(prev.reduce((a, b) => a + (b - m) ** 2, 0) / (prev.length - 1));
        zPrev = (x - m) / Math.max(sd, 0.01 * Math.abs(m), 1e-9);
      }
      days.push({
        merchant_id: merchant,
        day: new Date(d).toISOString().slice(0, 10),
        cnt: cell.cnt,
        sum_amount: x,
        zPrev,
        history: prev.length,
      });
      values.push(x);
    }
  }
  const anomalies = days
    .filter((d) => d.history >= 3 && Math.abs(d.zPrev) >= threshold)
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.merchant_id < b.merchant_id ? -1 : 1));
  return { fromMs, toMs, events: events.length, merchants: cents.size, merchantDays: days.length, anomalies };
}

describe('merchant anomalies job', () => {
  it('flags exactly the merchant-days a brute-force zPrev recomputation flags, over whole days before as-of', async () => {
    const rows = fixture();
    const lake = new MemoryLake(rows);
    const reports = new MemoryReports();
    const ctx = jobContext(AS_OF);
    const result = await runMerchantAnomalies(
      { lake, reports },
      { lookbackDays: LOOKBACK_DAYS, zThreshold: 3 },
      ctx,
    );
    const want = oracle(rows, AS_OF, LOOKBACK_DAYS, 3);

    expect(lake.ranges).toEqual([{ fromMs: FROM, toMs: TODAY, arrivedBeforeMs: AS_OF }]);
    expect(result.fromMs).toBe(FROM);
    expect(result.toMs).toBe(TODAY);
    expect(want.fromMs).toBe(FROM);
    expect(result.events).toBe(want.events);
    expect(result.merchants).toBe(4); // not m-today
    expect(result.merchants).toBe(want.merchants);
    expect(result.merchantDays).toBe(4 * LOOKBACK_DAYS);
    expect(result.merchantDays).toBe(want.merchantDays);

    expect(result.anomalies.map((a) => `${a.merchant_id} ${a.day}`)).toEqual(
      want.anomalies.map((a) => `${a.merchant_id} ${a.day}`),
    );
    for (const [i, w] of want.anomalies.entries()) {
      const got = result.anomalies[i]!;
      expect(got.cnt, w.day).toBe(w.cnt);
      expect(got.sum_amount, w.day).toBeCloseTo(w.sum_amount, 9);
      expect(got.zPrev, w.day).toBeCloseTo(w.zPrev, 9);
    }
    // the planted ones are there, the as-of day is not, and the flat merchant's small change is not
    const keys = result.anomalies.map((a) => `${a.merchant_id} ${a.day}`);
    expect(keys).toContain('m-b 2026-01-14');
    expect(keys).toContain('m-c 2026-01-12');
    expect(keys).toContain('m-d 2026-01-17'); // +10 on a near-flat baseline: z ≈ 4.7
    expect(keys).not.toContain('m-d 2026-01-10'); // +4 on a flat 200: z = 4 / (1% of 200) = 2
    expect(result.anomalies.find((a) => a.merchant_id === 'm-c' && a.day === '2026-01-12')).toMatchObject({
      cnt: 0,
      sum_amount: 0,
    });
    expect(
      result.anomalies.find((a) => a.merchant_id === 'm-b' && a.day === '2026-01-14')!.zPrev,
    ).toBeGreaterThan(10);
    expect(
      result.anomalies.find((a) => a.merchant_id === 'm-c' && a.day === '2026-01-12')!.zPrev,
    ).toBeLessThan(-3);
    expect(result.anomalies.every((a) => a.day < '2026-01-21')).toBe(true);
    // ma7 / sd7 are the seed's window INCLUDING the day: checked for the spike
    const spike = result.anomalies.find((a) => a.merchant_id === 'm-b' && a.day === '2026-01-14')!;
    expect(spike.ma7).toBeGreaterThan(
      want.anomalies.find((a) => a.merchant_id === 'm-b' && a.day === '2026-01-14')!.sum_amount / 7,
    );

    expect(reports.reports.get('merchant-anomalies')).toEqual(result);
    expect(ctx.progressSeen.at(-1)).toBe(100);
  });

  it('passes the threshold through: a lower one flags what the recomputation flags at that threshold', async () => {
    const rows = fixture();
    const at3 = oracle(rows, AS_OF, LOOKBACK_DAYS, 3).anomalies.length;
    const want = oracle(rows, AS_OF, LOOKBACK_DAYS, 1.5);
    expect(want.anomalies.length).toBeGreaterThan(at3);
    const result = await runMerchantAnomalies(
      { lake: new MemoryLake(rows), reports: new MemoryReports() },
      { lookbackDays: LOOKBACK_DAYS, zThreshold: 1.5 },
      jobContext(AS_OF),
    );
    expect(result.anomalies.map((a) => [a.merchant_id, a.day])).toEqual(
      want.anomalies.map((a) => [a.merchant_id, a.day]),
    );
    for (const [i, w] of want.anomalies.entries()) expect(result.anomalies[i]?.zPrev).toBeCloseTo(w.zPrev, 9);
  });

  it('a shorter lookback starts each series later: fewer than 3 earlier days are never anomalies', async () => {
    const rows = fixture();
    // window 2026-01-12 .. 2026-01-20: m-c's dead day is the first day of the window, m-b's spike has 2 days of history
    const asOf = Date.UTC(2026, 0, 21);
    const result = await runMerchantAnomalies(
      { lake: new MemoryLake(rows), reports: new MemoryReports() },
      { lookbackDays: 9, zThreshold: 3 },
      jobContext(asOf),
    );
    const want = oracle(rows, asOf, 9, 3);
    expect(result.fromMs).toBe(Date.UTC(2026, 0, 12));
    expect(result.toMs).toBe(asOf); // as-of exactly at midnight: the previous day is the last whole day
    expect(result.merchantDays).toBe(want.merchantDays);
    expect(result.anomalies.map((a) => [a.merchant_id, a.day])).toEqual(
      want.anomalies.map((a) => [a.merchant_id, a.day]),
    );
    const keys = result.anomalies.map((a) => `${a.merchant_id} ${a.day}`);
    expect(keys).not.toContain('m-c 2026-01-12'); // a dead first day is not even a day of the series
    expect(keys).not.toContain('m-b 2026-01-14'); // only 2 earlier days
  });

  it('a merchant that falls silent on the last days before as-of is judged on them (zeros to the last whole day)', async () => {
    const rows: Row[] = [];
    for (let d = 0; d < 19; d += 1) {
      for (let i = 0; i < 20; i += 1) {
        rows.push({ event_id: `q${d}-${i}`, ts_ms: FROM + d * DAY + i * 60_000, user_id: 'u', merchant_id: 'm-quiet', amount: 10 + (d % 3), currency: 'USD', country: 'VN', status: 'captured' });
      }
    }
    const result = await runMerchantAnomalies({ lake: new MemoryLake(rows), reports: new MemoryReports() }, { lookbackDays: LOOKBACK_DAYS, zThreshold: 3 }, jobContext(AS_OF));
    expect(result.merchantDays).toBe(20); // 19 days with events and the silent 2026-01-20
    expect(result.anomalies.map((a) => [a.merchant_id, a.day, a.sum_amount])).toEqual([['m-quiet', '2026-01-20', 0]]);
    expect(result.anomalies[0]?.zPrev).toBeLessThan(-3);
    const want = oracle(rows, AS_OF, LOOKBACK_DAYS, 3);
    expect(result.anomalies.map((a) => [a.merchant_id, a.day])).toEqual(want.anomalies.map((a) => [a.merchant_id, a.day]));
  });
});
