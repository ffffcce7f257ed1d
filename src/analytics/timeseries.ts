/**
 * Daily per-merchant time series for the batch layer (PRODUCT §5; the seed's ts_aggregations.py):
 * daily sums, 7-day moving average and standard deviation, and z-score anomalies.
 *
 * Two z-scores, on purpose:
 * - `z` is the seed's definition, (x − ma7) / (sd7 + 1e-9) with the window rows −6..0 INCLUDING
 *   the day itself. Kept for the dashboards that mirror the seed, but it cannot flag much: with
 *   the day inside its own window |z| ≤ (n − 1)/√n ≈ 2.27 for n = 7, whatever happens.
 * - `zPrev` compares the day with the 7 days BEFORE it (the baseline it is judged against) and is
 *   what `anomaly` uses.
 * Days without events inside a merchant's first..last day are 0, not missing: a dead day is data.
 */
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { amountToUnits, unitsToAmount } from './money.ts';

const DAY = 86_400_000;

/** The event fields the daily sums read. */
export interface SeriesEvent {
  readonly merchant_id: string;
  readonly ts_ms: number;
  readonly amount: number;
}

/** One merchant-day. */
export interface DailyPoint {
  merchant_id: string;
  /** UTC date, YYYY-MM-DD. */
  day: string;
  dayStartMs: number;
  cnt: number;
  sum_amount: number;
}

/** A merchant-day with its moving statistics. */
export interface DailyStat extends DailyPoint {
  ma7: number;
  sd7: number;
  z: number;
  zPrev: number;
  anomaly: boolean;
}

/** Options; defaults in {@link DEFAULT_SERIES_OPTIONS}. */
export interface SeriesOptions {
  readonly window: number;
  readonly zThreshold: number;
  /** Days of baseline needed before a day can be an anomaly. */
  readonly minHistoryDays: number;
}

/** Seven-day windows, |z| ≥ 3 with at least 3 earlier days. */
export const DEFAULT_SERIES_OPTIONS: SeriesOptions = Object.freeze({
  window: 7,
  zThreshold: 3,
  minHistoryDays: 3,
});

const isoDay = (dayStartMs: number) => new Date(dayStartMs).toISOString().slice(0, 10);

/**
 * Daily count and (exact) amount sum per merchant, gap days filled with zeros; sorted by merchant,
 * day. With `throughDayMs` (the start of a UTC day), every merchant's series runs to that day,
 * zeros included: a merchant that went silent on the last days is judged on them too.
 */
export function dailySums(events: Iterable<SeriesEvent>, throughDayMs?: number): DailyPoint[] {
  const acc = new Map<string, Map<number, { cnt: number; units: number }>>();
  for (const e of events) {
    const day = Math.floor(e.ts_ms / DAY) * DAY;
    let days = acc.get(e.merchant_id);
    if (days === undefined) {
      days = new Map();
      acc.set(e.merchant_id, days);
    }
    const d = days.get(day) ?? { cnt: 0, units: 0 };
    d.cnt += 1;
    d.units += amountToUnits(Math.abs(e.amount));
    days.set(day, d);
  }
  const out: DailyPoint[] = [];
  for (const merchant of [...acc.keys()].sort()) {
    const days = acc.get(merchant) as Map<number, { cnt: number; units: number }>;
    const keys = [...days.keys()];
    const first = Math.min(...keys);
    const last = Math.max(...keys, throughDayMs ?? Number.NEGATIVE_INFINITY);
    for (let day = first; day <= last; day += DAY) {
      const d = days.get(day) ?? { cnt: 0, units: 0 };
      out.push({
        merchant_id: merchant,
        day: isoDay(day),
        dayStartMs: day,
        cnt: d.cnt,
        sum_amount: unitsToAmount(d.units),
      });
    }
  }
  return out;
}

const sd = (xs: number[]) => (xs.length < 2 ? 0 : sampleStandardDeviation(xs));

/**
 * Moving statistics of one merchant's consecutive daily values (as produced by dailySums),
 * computed on `sum_amount`.
 */
export function movingStats(
  points: readonly DailyPoint[],
  opts: SeriesOptions = DEFAULT_SERIES_OPTIONS,
): DailyStat[] {
  const values = points.map((p) => p.sum_amount);
  return points.map((p, i) => {
    const win = values.slice(Math.max(0, i - opts.window + 1), i + 1);
    const prev = values.slice(Math.max(0, i - opts.window), i);
    const ma7 = mean(win);
    const sd7 = sd(win);
    const prevMean = prev.length ? mean(prev) : p.sum_amount;
    // a perfectly flat baseline has sd 0: floor it at 1% of its mean so a change still scores
    const prevSd = Math.max(sd(prev), 0.01 * Math.abs(prevMean), 1e-9);
    const zPrev = prev.length ? (p.sum_amount - prevMean) / prevSd : 0;
    return {
      ...p,
      ma7,
      sd7,
      z: (p.sum_amount - ma7) / (sd7 + 1e-9),
      zPrev,
      anomaly: prev.length >= opts.minHistoryDays && Math.abs(zPrev) >= opts.zThreshold,
    };
  });
}

/** dailySums then movingStats per merchant: the batch job's whole computation. */
export function merchantDailySeries(
  events: Iterable<SeriesEvent>,
  opts: SeriesOptions = DEFAULT_SERIES_OPTIONS,
  throughDayMs?: number,
): DailyStat[] {
  const byMerchant = new Map<string, DailyPoint[]>();
  for (const p of dailySums(events, throughDayMs)) {
    const list = byMerchant.get(p.merchant_id) ?? [];
    list.push(p);
    byMerchant.set(p.merchant_id, list);
  }
  return [...byMerchant.values()].flatMap((pts) => movingStats(pts, opts));
}
