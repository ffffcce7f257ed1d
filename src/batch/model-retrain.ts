/**
 * Batch job: retrain the risk model from the bronze events and the fraud labels that arrived,
 * and promote it only if it beats the current model on the same held-out users.
 *
 * - Rows are the events of [as-of − lookback, as-of − label maturity): a younger event may still
 *   get its chargeback, so calling it legitimate now would teach the model the wrong answer.
 * - Features are recomputed by replaying the events as the user actors see them (dedup, lateness,
 *   graph rebuilds that only know earlier labels: src/analytics/training-set.ts), the same code
 *   scoring runs, so training sees exactly what scoring saw.
 * - An event is fraud when its latest label known at the as-of time says so.
 * - Promotion needs enough held-out fraud to judge and a held-out AUC above the current model's
 *   by at least `minAucGain`. The candidate is published either way (versioned, for audit); the
 *   workers pick up a promoted version without restart.
 * Deterministic: the version is derived from the as-of time, and the same inputs train the same
 * model, so a retried job republishes identical content.
 */
import type { RiskModel } from '../analytics/model.ts';
import { type EvaluationReport, RISK_MODEL_GRID, trainAndEvaluate } from '../analytics/train-default-model.ts';
import { buildTrainingSet } from '../analytics/training-set.ts';
import { resolveUserFeatureConfig } from '../analytics/user-features.ts';
import type { JobContext, LabelReader, LakeReader, ModelStore, ReportStore } from './ports.ts';

const HOUR = 3_600_000;

export interface ModelRetrainInput {
  readonly lookbackMs: number;
  readonly labelMaturityMs: number;
  readonly minAucGain: number;
  /** Fewest held-out fraud rows for a promotion. */
  readonly minTestPositives: number;
  readonly allowedLatenessMs: number;
  readonly negativeSampleRate: number;
  readonly settleMs?: number;
}

export interface ModelRetrainResult {
  version: string;
  baselineVersion: string;
  rows: number;
  positives: number;
  labels: number;
  promoted: boolean;
  reason: string;
  report: EvaluationReport | null;
}

export interface ModelRetrainPorts {
  readonly lake: LakeReader;
  readonly labels: LabelReader;
  readonly models: ModelStore;
  readonly reports: ReportStore;
  /** The model the workers use when the registry has none promoted. */
  readonly fallback: RiskModel;
}

export async function runModelRetrain(
  ports: ModelRetrainPorts,
  input: ModelRetrainInput,
  ctx: JobContext,
): Promise<ModelRetrainResult> {
  // Millisecond resolution: two as-of times never share a version (and so never its content).
  const version = `retrain-${new Date(ctx.asOfMs).toISOString().replace(/[-:.]/g, '').slice(0, 18)}`;
  const earlier = await ports.models.get(version);
  if (earlier) return finishEarlierAttempt(ports, earlier, ctx);
  const toMs = ctx.asOfMs - input.labelMaturityMs;
  const events = await ports.lake.events({ fromMs: ctx.asOfMs - input.lookbackMs, toMs, arrivedBeforeMs: ctx.asOfMs - (input.settleMs ?? 0) });
  const latest = new Map<string, { label: 'fraud' | 'legit'; ts: number }>();
  const known: { user_id: string; label: 'fraud' | 'legit'; label_ts_ms: number }[] = [];
  for (const l of await ports.labels.labels()) {
    if (l.label_ts_ms > ctx.asOfMs) continue;
    known.push({ user_id: l.user_id, label: l.label, label_ts_ms: l.label_ts_ms });
    const prev = latest.get(l.event_id);
    if (!prev || l.label_ts_ms >= prev.ts) latest.set(l.event_id, { label: l.label, ts: l.label_ts_ms });
  }
  await ctx.progress(20);
  const set = buildTrainingSet(
    events.map((event) => ({ event, isFraud: latest.get(event.event_id)?.label === 'fraud' })),
    known,
    { features: resolveUserFeatureConfig({ allowedLatenessMs: input.allowedLatenessMs }), graphRebuildEveryMs: 6 * HOUR },
  );
  const positives = set.labels.filter((l) => l === 1).length;
  const currentVersion = (await ports.models.currentVersion()) ?? ports.fallback.version;
  const baseline = (await ports.models.get(currentVersion)) ?? ports.fallback;
  const base = { version, baselineVersion: baseline.version, rows: set.rows.length, positives, labels: latest.size };
  await ctx.progress(40);
  // Both classes are needed to train, and held-out fraud to judge.
  if (positives < Math.max(2, input.minTestPositives * 2) || positives === set.rows.length) {
    const result = { ...base, promoted: false, reason: `too few fraud rows to train (${positives})`, report: null };
    await ports.reports.put('model-retrain', result);
    await ctx.progress(100);
    return result;
  }
  const { model, report } = trainAndEvaluate(set, {
    version,
    // The default model's own procedure: the same grid and folds, so a retrained model is judged
    // against one built the same way.
    folds: 3,
    grid: RISK_MODEL_GRID,
    negativeSampleRate: input.negativeSampleRate,
    thresholds: baseline.thresholds,
    baseline,
    metadata: { source: 'retrain', asOfMs: ctx.asOfMs, rows: set.rows.length, positives },
  });
  await ctx.progress(90);
  const gain = report.auc - (report.baselineAuc ?? 0);
  let promote = false;
  let reason: string;
  if (report.testPositives < input.minTestPositives) {
    reason = `too few held-out fraud rows to judge (${report.testPositives} < ${input.minTestPositives})`;
  } else if (!(gain >= input.minAucGain)) {
    // NaN (no held-out fraud, or a degenerate baseline) is never a gain.
    reason = `held-out AUC ${report.auc.toFixed(4)} does not beat ${baseline.version}'s ${(report.baselineAuc ?? 0).toFixed(4)} by ${input.minAucGain}`;
  } else {
    promote = true;
    reason = `held-out AUC ${report.auc.toFixed(4)} vs ${baseline.version}'s ${(report.baselineAuc ?? 0).toFixed(4)}`;
  }
  // The decision travels with the model: a retry after a crash between publish and promote
  // finds it there (see the start of this function).
  await ports.models.publish({ ...model, metadata: { ...model.metadata, promote, reason, baselineVersion: baseline.version } }, ctx.asOfMs);
  if (promote) await ports.models.promote(version);
  const promoted = promote;
  const result = { ...base, promoted, reason, report };
  await ports.reports.put('model-retrain', result);
  await ctx.progress(100);
  return result;
}

/**
 * An earlier attempt of this run (same as-of time) already published its model: it is not
 * trained again (rows that arrived since could make it differ), its recorded decision is applied.
 */
async function finishEarlierAttempt(ports: ModelRetrainPorts, model: RiskModel, ctx: JobContext): Promise<ModelRetrainResult> {
  const m = model.metadata ?? {};
  const promoted = m.promote === true;
  if (promoted && (await ports.models.currentVersion()) !== model.version) await ports.models.promote(model.version);
  const result: ModelRetrainResult = {
    version: model.version,
    baselineVersion: String(m.baselineVersion ?? ''),
    rows: Number(m.rows ?? 0),
    positives: Number(m.positives ?? 0),
    labels: 0,
    promoted,
    reason: `trained by an earlier attempt: ${String(m.reason ?? '')}`,
    report: null,
  };
  await ports.reports.put('model-retrain', result);
  await ctx.progress(100);
  return result;
}
