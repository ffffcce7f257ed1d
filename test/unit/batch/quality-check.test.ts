import { describe, expect, it } from 'vitest';
import { BRONZE_PAYMENT_EXPECTATIONS, type Expectation } from '../../../src/analytics/quality.ts';
import type { BronzeRange } from '../../../src/batch/ports.ts';
import { runQualityCheck } from '../../../src/batch/quality-check.ts';
import { jobContext, MemoryLake, MemoryReports } from '../../support/batch-memory.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const AS_OF = Date.UTC(2026, 0, 10, 6);
const LOOKBACK = DAY;

/** MemoryLake that also records the ranges of rows() (the quality check's read). */
class RecordingLake extends MemoryLake {
  readonly rowRanges: BronzeRange[] = [];
  override async rows(range: BronzeRange): Promise<Record<string, unknown>[]> {
    this.rowRanges.push(range);
    return super.rows(range);
  }
}

const clean = (i: number, ts: number): Record<string, unknown> => ({
  event_id: `e${i}`,
  ts_ms: ts,
  user_id: `u${i % 37}`,
  merchant_id: `m${i % 11}`,
  amount: 10 + (i % 13) * 3.25,
  currency: i % 3 === 0 ? 'EUR' : 'USD',
  country: i % 2 === 0 ? 'VN' : 'SG',
  status: (['authorized', 'captured', 'refunded', 'failed'] as const)[i % 4],
  // a quarter without a device: within the suite's mostly = 0.5, so it costs nothing
  ...(i % 4 === 1 ? {} : { device_id: `d${i % 53}` }),
});

/** The stored rows: 200 clean in-range rows, planted defects in range, and defective rows outside it. */
function fixture() {
  const from = AS_OF - LOOKBACK;
  const inRange: Record<string, unknown>[] = [];
  for (let i = 0; i < 200; i += 1) inRange.push(clean(i, from + Math.floor((i * (LOOKBACK - 1)) / 199)));
  // boundaries: the first ms of the window is in, the first ms after it is not (below)
  expect(inRange[0]?.ts_ms).toBe(from);
  expect(inRange[199]?.ts_ms).toBe(AS_OF - 1);
  inRange.push(
    { ...clean(5, from + 10), amount: 99 }, // a repeated event id (e5), other content
    { ...clean(7, from + 11) }, // e7 again, exact copy
    { ...clean(7, from + 12) }, // e7 a third time: 2 repeats of e7
    { ...clean(201, from + 20), user_id: null }, // null user id
    (({ user_id: _u, ...rest }) => rest)(clean(202, from + 21)), // missing user id (undefined)
    { ...clean(203, from + 22), status: 'pending' }, // unknown status
    { ...clean(204, from + 23), status: 'CAPTURED' }, // unknown (case matters)
    { ...clean(205, from + 24), amount: -5 }, // negative amount
    { ...clean(206, from + 25), amount: '12.00' }, // not a number
    { ...clean(207, from + 26), amount: 2e9 }, // above the maximum
    { ...clean(208, from + 27), amount: null }, // null: not evaluated by `between`
    { ...clean(209, from + 28), currency: 'usd' }, // bad currency
    { ...clean(210, from + 29), currency: 'US' }, // bad currency
    { ...clean(211, from + 30), currency: 'USDT' }, // bad currency
    { ...clean(212, from + 31), country: 'VNM' }, // bad country
    { ...clean(213, from + 32), event_id: null }, // null event id: counted by not_null, ignored by unique
    { ...clean(214, from + 33), merchant_id: undefined }, // missing merchant
  );
  const outside: Record<string, unknown>[] = [
    { ...clean(0, AS_OF), user_id: null, amount: -1 }, // at as-of: excluded (and a repeat of e0)
    { ...clean(300, AS_OF + HOUR), status: 'weird', currency: 'x' },
    { ...clean(1, from - 1), event_id: 'e1', user_id: null }, // just before the window
    { ...clean(301, from - DAY), amount: -100, country: 'nowhere' },
  ];
  // stored interleaved, as a lake would hold them
  const stored = [
    ...inRange.slice(0, 100),
    ...outside.slice(0, 2),
    ...inRange.slice(100),
    ...outside.slice(2),
  ];
  return { stored, inRange };
}

/** Brute-force oracle per expectation type, written independently of quality.ts. */
function oracleCounts(rows: readonly Record<string, unknown>[], e: Expectation) {
  const isNull = (v: unknown) => v === null || v === undefined;
  if (e.type === 'row_count_between') {
    return {
      evaluated: 1,
      unexpected: rows.length >= e.min && (e.max === undefined || rows.length <= e.max) ? 0 : 1,
    };
  }
  const values = rows.map((r) => r[e.column]);
  const present = values.filter((v) => !isNull(v));
  switch (e.type) {
    case 'not_null':
      return { evaluated: values.length, unexpected: values.length - present.length };
    case 'unique':
      // every occurrence beyond the first of a value is unexpected
      return { evaluated: present.length, unexpected: present.length - new Set(present).size };
    case 'between':
      return {
        evaluated: present.length,
        unexpected: present.filter(
          (v) =>
            !(
              typeof v === 'number' &&
              Number.isFinite(v) &&
              (e.min ?? -Infinity) <= v &&
              v <= (e.max ?? Infinity)
            ),
        ).length,
      };
    case 'in_set':
      return {
        evaluated: present.length,
        unexpected: present.filter((v) => !e.values.some((x) => x === v)).length,
      };
    case 'matches':
      return {
        evaluated: present.length,
        unexpected: present.filter((v) => typeof v !== 'string' || !new RegExp(e.pattern).test(v)).length,
      };
    case 'not_older_than':
      return {
        evaluated: present.length,
        unexpected: present.filter((v) => !(typeof v === 'number' && v >= e.asOfMs - e.maxAgeMs)).length,
      };
  }
}

/** The documented score, 100 · Σ w · min(1, successRate / mostly) / Σ w, reported to one decimal. */
function oracleScore(rows: readonly Record<string, unknown>[]) {
  let num = 0;
  let den = 0;
  for (const s of BRONZE_PAYMENT_EXPECTATIONS) {
    const { evaluated, unexpected } = oracleCounts(rows, s.expectation);
    const successRate = evaluated === 0 ? 1 : (evaluated - unexpected) / evaluated;
    const w = s.weight ?? 1;
    num += w * Math.min(1, successRate / (s.mostly ?? 1));
    den += w;
  }
  const raw = (100 * num) / den;
  return { raw, rounded: Math.round(raw * 10) / 10 };
}

describe('quality check job', () => {
  it('reads exactly [as-of − lookback, as-of) and reports brute-force counts and the documented score', async () => {
    const { stored, inRange } = fixture();
    const lake = new RecordingLake(stored);
    const reports = new MemoryReports();
    const ctx = jobContext(AS_OF);
    const result = await runQualityCheck({ lake, reports }, { lookbackMs: LOOKBACK, alertBelow: 80 }, ctx);

    expect(lake.rowRanges).toEqual([{ fromMs: AS_OF - LOOKBACK, toMs: AS_OF, arrivedBeforeMs: AS_OF }]);
    expect(result.fromMs).toBe(AS_OF - LOOKBACK);
    expect(result.toMs).toBe(AS_OF);
    expect(result.layer).toBe('bronze');
    expect(result.rows).toBe(inRange.length);
    expect(result.rows).toBe(217);
    expect(reports.reports.get('quality-check')).toEqual(result);
    expect(ctx.progressSeen.at(-1)).toBe(100);

    // one result per suite expectation, in suite order, with the brute-force counts
    expect(result.results.map((r) => r.name)).toEqual(BRONZE_PAYMENT_EXPECTATIONS.map((s) => s.name));
    for (const [i, s] of BRONZE_PAYMENT_EXPECTATIONS.entries()) {
      const got = result.results[i]!;
      const want = oracleCounts(inRange, s.expectation);
      expect({ evaluated: got.evaluated, unexpected: got.unexpected }, s.name).toEqual(want);
      expect(got.weight, s.name).toBe(s.weight ?? 1);
    }
    // and the planted defects, counted by hand (so the oracle itself is checked too)
    const unexpected = Object.fromEntries(result.results.map((r) => [r.name, r.unexpected]));
    expect(unexpected).toEqual({
      'event_id present': 1,
      'event_id unique': 3, // e5 once more, e7 twice more
      'user_id present': 2,
      'merchant_id present': 1,
      'ts_ms present': 0,
      'amount in [0, 1e9]': 3, // -5, '12.00', 2e9 (null is not evaluated)
      'status known': 2,
      'currency is ISO 4217 shaped': 3,
      'country is ISO 3166 shaped': 1,
      'device_id mostly present': inRange.filter((r) => r.device_id === undefined).length,
    });
    expect(result.results.find((r) => r.name === 'amount in [0, 1e9]')?.evaluated).toBe(inRange.length - 1);
    expect(result.results.find((r) => r.name === 'device_id mostly present')?.passed).toBe(true);

    const { raw, rounded } = oracleScore(inRange);
    expect(raw).toBeLessThan(100); // the defects cost something
    expect(raw).toBeGreaterThan(90);
    expect(result.score).toBe(rounded);
    expect(result.score).toBeCloseTo(raw, 1);
    expect(result.alertBelow).toBe(80);
    expect(result.passed).toBe(true);
  });

  it('passed flips around the score: alertBelow above it fails, at or below it passes', async () => {
    const { stored, inRange } = fixture();
    const { rounded } = oracleScore(inRange);
    for (const [alertBelow, passed] of [
      [rounded + 0.1, false],
      [100, false],
      [rounded, true],
      [rounded - 0.1, true],
    ] as const) {
      const reports = new MemoryReports();
      const r = await runQualityCheck(
        { lake: new MemoryLake(stored), reports },
        { lookbackMs: LOOKBACK, alertBelow },
        jobContext(AS_OF),
      );
      expect(r.score).toBe(rounded);
      expect(r.alertBelow).toBe(alertBelow);
      expect(r.passed, `alertBelow ${alertBelow}`).toBe(passed);
      expect((reports.reports.get('quality-check') as { passed: boolean }).passed).toBe(passed);
    }
  });

  it('a shorter lookback sees only its own rows; an empty window scores 100', async () => {
    const { stored } = fixture();
    const lookback = 6 * HOUR;
    const expected = stored.filter(
      (r) => (r.ts_ms as number) >= AS_OF - lookback && (r.ts_ms as number) < AS_OF,
    );
    const r = await runQualityCheck(
      { lake: new MemoryLake(stored), reports: new MemoryReports() },
      { lookbackMs: lookback, alertBelow: 80 },
      jobContext(AS_OF),
    );
    expect(r.rows).toBe(expected.length);
    expect(r.rows).toBeGreaterThan(0);
    expect(r.rows).toBeLessThan(100);
    expect(r.score).toBe(oracleScore(expected).rounded);

    const empty = await runQualityCheck(
      { lake: new MemoryLake(stored), reports: new MemoryReports() },
      { lookbackMs: HOUR, alertBelow: 80 },
      jobContext(AS_OF + 30 * DAY),
    );
    expect(empty.rows).toBe(0);
    expect(empty.score).toBe(100);
    expect(empty.results.every((x) => x.evaluated === 0 && x.unexpected === 0)).toBe(true);
  });
});
