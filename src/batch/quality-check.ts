/**
 * Batch job: data-quality expectations over the bronze rows of the lookback window (every stored
 * row, duplicates included: a repeated event id is a finding), and over the curated payments of
 * the same window once the curated layer exists, each layer scored 0–100
 * (src/analytics/quality.ts). The report is kept as the job's latest; the process exports the
 * score as a gauge, and an alert fires below the report's threshold.
 */
import { BRONZE_PAYMENT_EXPECTATIONS, CURATED_PAYMENT_EXPECTATIONS, evaluateQuality, type QualityReport } from '../analytics/quality.ts';
import type { CuratedLake, JobContext, LakeReader, ReportStore } from './ports.ts';

export interface QualityCheckInput {
  readonly lookbackMs: number;
  readonly alertBelow: number;
  readonly settleMs?: number;
}

export interface QualityCheckPorts {
  readonly lake: LakeReader;
  readonly reports: ReportStore;
  /** The curated layer, scored as a layer of its own once it has a snapshot. */
  readonly curated?: Pick<CuratedLake, 'payments'>;
}

/** The bronze report (as before), plus the other layers' reports. */
export type QualityCheckResult = QualityReport & { fromMs: number; toMs: number; layers: QualityReport[] };

export async function runQualityCheck(
  ports: QualityCheckPorts,
  input: QualityCheckInput,
  ctx: JobContext,
): Promise<QualityCheckResult> {
  const range = { fromMs: ctx.asOfMs - input.lookbackMs, toMs: ctx.asOfMs, arrivedBeforeMs: ctx.asOfMs - (input.settleMs ?? 0) };
  const rows = await ports.lake.rows(range);
  await ctx.progress(60);
  const options = { alertBelow: input.alertBelow };
  // The curated layer as its last run left it: rows that arrived since wait for the next curate.
  const curated = await ports.curated?.payments(range);
  const layers = curated ? [evaluateQuality('curated', curated, CURATED_PAYMENT_EXPECTATIONS, options)] : [];
  const report = { ...evaluateQuality('bronze', rows, BRONZE_PAYMENT_EXPECTATIONS, options), ...range, layers };
  await ports.reports.put('quality-check', report);
  await ctx.progress(100);
  return report;
}
