/**
 * Batch job: data-quality expectations over the bronze rows of the lookback window (every stored
 * row, duplicates included: a repeated event id is a finding), scored 0–100
 * (src/analytics/quality.ts). The report is kept as the job's latest; the process exports the
 * score as a gauge, and an alert fires below the report's threshold.
 */
import { BRONZE_PAYMENT_EXPECTATIONS, evaluateQuality, type QualityReport } from '../analytics/quality.ts';
import type { JobContext, LakeReader, ReportStore } from './ports.ts';

export interface QualityCheckInput {
  readonly lookbackMs: number;
  readonly alertBelow: number;
  readonly settleMs?: number;
}

export interface QualityCheckPorts {
  readonly lake: LakeReader;
  readonly reports: ReportStore;
}

export async function runQualityCheck(
  ports: QualityCheckPorts,
  input: QualityCheckInput,
  ctx: JobContext,
): Promise<QualityReport & { fromMs: number; toMs: number }> {
  const range = { fromMs: ctx.asOfMs - input.lookbackMs, toMs: ctx.asOfMs, arrivedBeforeMs: ctx.asOfMs - (input.settleMs ?? 0) };
  const rows = await ports.lake.rows(range);
  await ctx.progress(60);
  const report = { ...evaluateQuality('bronze', rows, BRONZE_PAYMENT_EXPECTATIONS, { alertBelow: input.alertBelow }), ...range };
  await ports.reports.put('quality-check', report);
  await ctx.progress(100);
  return report;
}
