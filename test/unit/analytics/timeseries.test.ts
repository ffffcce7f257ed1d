import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/analytics/prng.ts';
import {
  dailySums,
  merchantDailySeries,
  movingStats,
  type SeriesEvent,
} from '../../../src/analytics/timeseries.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('merchant daily time series', () => {
  it('daily sums equal a brute force, with gap days as zeros', () => {
    const rng = createRng(1);
    const events: SeriesEvent[] = [];
    for (let i = 0; i < 2_000; i++) {
      const day = rng.int(20);
      if (day === 7) continue; // a dead day
      events.push({
        merchant_id: `m${rng.int(3)}`,
        ts_ms: T0 + day * DAY + rng.int(DAY),
        amount: rng.int(10_000) / 100,
      });
    }
    const pts = dailySums(events);
    for (const p of pts) {
      const mine = events.filter(
        (e) => e.merchant_id === p.merchant_id && e.ts_ms >= p.dayStartMs && e.ts_ms < p.dayStartMs + DAY,
      );
      expect(p.cnt).toBe(mine.length);
      expect(p.sum_amount).toBe(mine.reduce((s, e) => s + Math.round(e.amount * 100), 0) / 100);
      expect(p.day).toBe(new Date(p.dayStartMs).toISOString().slice(0, 10));
    }
    expect(pts.filter((p) => p.merchant_id === 'm0').length).toBe(20);
    expect(pts.find((p) => p.merchant_id === 'm0' && p.day === '2026-01-08')?.cnt).toBe(0);
  });

  it('moving average and stddev follow the seed (rows −6..0); zPrev flags a planted spike', () => {
    const values = [100, 104, 98, 101, 99, 103, 97, 100, 102, 500, 101, 99];
    const pts = values.map((v, i) => ({
      merchant_id: 'm',
      day: `d${i}`,
      dayStartMs: i * DAY,
      cnt: 1,
      sum_amount: v,
    }));
    const stats = movingStats(pts);
    stats.forEach((s, i) => {
      const win = values.slice(Math.max(0, i - 6), i + 1);
      const m = win.reduce((a, b) => a + b, 0) / win.length;
      const sd = win.length < 2 ? 0 : Math.sqrt(win.reduce((a, b) => a + (b - m) ** 2, 0) / (win.length - 1));
      expect(s.ma7).toBeCloseTo(m, 10);
      expect(s.sd7).toBeCloseTo(sd, 10);
      expect(s.z).toBeCloseTo((values[i]! - m) / (sd + 1e-9), 6);
      expect(Math.abs(s.z)).toBeLessThanOrEqual(6 / Math.sqrt(7) + 1e-9); // why the seed's z cannot alert
    });
    expect(stats.map((s) => s.anomaly)).toEqual(values.map((_, i) => i === 9));
    expect(stats[9]!.zPrev).toBeGreaterThan(50);
  });

  it('merchantDailySeries covers every merchant-day', () => {
    const events = [
      { merchant_id: 'b', ts_ms: T0, amount: 5 },
      { merchant_id: 'a', ts_ms: T0 + 3 * DAY, amount: 7 },
      { merchant_id: 'a', ts_ms: T0, amount: -3 },
    ];
    const s = merchantDailySeries(events);
    expect(s.map((x) => `${x.merchant_id}:${x.day}:${x.sum_amount}`)).toEqual([
      'a:2026-01-01:3',
      'a:2026-01-02:0',
      'a:2026-01-03:0',
      'a:2026-01-04:7',
      'b:2026-01-01:5',
    ]);
  });
});
