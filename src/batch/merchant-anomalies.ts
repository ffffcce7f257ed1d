/**
 * Batch job: daily per-merchant sums over the lookback window, 7-day moving statistics and z-score
 * anomalies (src/analytics/timeseries.ts). Only whole UTC days before the as-of time are judged:
 * today's partial sum would look like a collapse every morning.
 */
import { DEFAULT_SERIES_OPTIONS, merchantDailySeries } from '../analytics/timeseries.ts';
import type { JobContext, LakeReader, ReportStore } from './ports.ts';

const DAY = 86_400_000;

export interface MerchantAnomaliesInput {
  readonly lookbackDays: number;
  readonly zThreshold: number;
  readonly settleMs?: number;
}

export interface MerchantAnomaly {
  merchant_id: string;
  day: string;
  cnt: number;
  sum_amount: number;
  ma7: number;
  sd7: number;
  zPrev: number;
}

export interface MerchantAnomaliesResult {
  fromMs: number;
  toMs: number;
  events: number;
  merchants: number;
  merchantDays: number;
  anomalies: MerchantAnomaly[];
}

export interface MerchantAnomaliesPorts {
  readonly lake: LakeReader;
  readonly reports: ReportStore;
}

export async function runMerchantAnomalies(
  ports: MerchantAnomaliesPorts,
  input: MerchantAnomaliesInput,
  ctx: JobContext,
): Promise<MerchantAnomaliesResult> {
  const toMs = Math.floor(ctx.asOfMs / DAY) * DAY;
  const fromMs = toMs - input.lookbackDays * DAY;
  const events = await ports.lake.events({ fromMs, toMs, arrivedBeforeMs: ctx.asOfMs - (input.settleMs ?? 0) });
  await ctx.progress(60);
  // Every merchant is judged through the last whole day, so one that fell silent is seen.
  const stats = merchantDailySeries(events, { ...DEFAULT_SERIES_OPTIONS, zThreshold: input.zThreshold }, toMs - DAY);
  const anomalies = stats
    .filter((s) => s.anomaly)
    .map(({ merchant_id, day, cnt, sum_amount, ma7, sd7, zPrev }) => ({ merchant_id, day, cnt, sum_amount, ma7, sd7, zPrev }))
    .sort((a, b) => a.day.localeCompare(b.day) || a.merchant_id.localeCompare(b.merchant_id));
  const result: MerchantAnomaliesResult = {
    fromMs,
    toMs,
    events: events.length,
    merchants: new Set(stats.map((s) => s.merchant_id)).size,
    merchantDays: stats.length,
    anomalies,
  };
  await ports.reports.put('merchant-anomalies', result);
  await ctx.progress(100);
  return result;
}
