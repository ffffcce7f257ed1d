import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/analytics/prng.ts';
import {
  BRONZE_PAYMENT_EXPECTATIONS,
  evaluateQuality,
  type ExpectationSpec,
} from '../../../src/analytics/quality.ts';

function rows(n: number, corrupt: number, seed = 1) {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const r: Record<string, unknown> = {
      event_id: `e${i}`,
      user_id: `u${rng.int(50)}`,
      merchant_id: `m${rng.int(5)}`,
      ts_ms: 1_700_000_000_000 + i,
      amount: rng.int(10_000) / 100,
      currency: 'USD',
      status: rng.pick(['authorized', 'captured', 'refunded', 'failed']),
      device_id: rng.chance(0.8) ? `d${i}` : undefined,
    };
    if (i < corrupt) {
      r.amount = -5;
      r.status = 'weird';
      r.event_id = 'e0';
    }
    return r;
  });
}

describe('data quality', () => {
  it('clean data scores 100', () => {
    const r = evaluateQuality('bronze', rows(1_000, 0), BRONZE_PAYMENT_EXPECTATIONS);
    expect(r.score).toBe(100);
    expect(r.passed).toBe(true);
    expect(r.rows).toBe(1_000);
    expect(r.results.find((x) => x.name === 'country is ISO 3166 shaped')?.evaluated).toBe(0); // nulls ignored
  });

  it('score is the weighted mean credit, recomputed by brute force', () => {
    const data = rows(1_000, 100);
    const r = evaluateQuality('bronze', data, BRONZE_PAYMENT_EXPECTATIONS);
    let num = 0;
    let den = 0;
    for (const res of r.results) {
      const mostly = BRONZE_PAYMENT_EXPECTATIONS.find((e) => e.name === res.name)?.mostly ?? 1;
      num += res.weight * Math.min(1, res.successRate / mostly);
      den += res.weight;
    }
    expect(r.score).toBeCloseTo((100 * num) / den, 1);
    const amount = r.results.find((x) => x.column === 'amount')!;
    expect(amount.unexpected).toBe(100);
    expect(amount.passed).toBe(false);
    expect(amount.sampleUnexpected).toEqual([-5, -5, -5, -5, -5]);
    const unique = r.results.find((x) => x.name === 'event_id unique')!;
    expect(unique.unexpected).toBe(99); // rows 0..99 all carry e0: 99 repeats
    expect(r.score).toBeLessThan(100);
    expect(r.score).toBeGreaterThan(80);
  });

  it('alerts below the threshold and handles table-level and freshness expectations', () => {
    const specs: ExpectationSpec[] = [
      { name: 'rows', expectation: { type: 'row_count_between', min: 10, max: 20 }, weight: 4 },
      { name: 'fresh', expectation: { type: 'not_older_than', column: 'ts', maxAgeMs: 100, asOfMs: 1_000 } },
      { name: 'mostly', expectation: { type: 'not_null', column: 'x' }, mostly: 0.5 },
    ];
    const data = Array.from({ length: 5 }, (_, i) => ({ ts: 850 + i * 50, x: i % 2 ? null : 1 }));
    const r = evaluateQuality('curated', data, specs);
    expect(r.results.map((x) => x.passed)).toEqual([false, false, true]);
    expect(r.results[1]!.unexpected).toBe(1); // only 850 is older than 1000 − 100
    // rows: 0 × 4; fresh: 4/5; mostly: 3/5 ≥ 0.5 → full credit
    expect(r.score).toBeCloseTo((100 * (0 + 0.8 + 1)) / 6, 1);
    expect(r.passed).toBe(false);
    expect(() =>
      evaluateQuality('x', [], [{ name: 'bad', expectation: { type: 'unique', column: 'a' }, mostly: 0 }]),
    ).toThrow(RangeError);
  });
});
