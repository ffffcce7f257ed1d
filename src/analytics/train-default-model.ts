/**
 * Trains and evaluates a risk model on a replayed, labelled stream: the pure part of the
 * default-model build (src/cli/train-default-model.ts does the generation and file writing).
 *
 * Split by user, not by event: a user's events are strongly correlated (same devices, same
 * history), so an event-level split would leak and overstate held-out quality.
 */
import { murmur3 } from './hash.ts';
import { auc, precisionAtFraction, recallAtFraction } from './metrics.ts';
import { type RiskModel, score, type Transform } from './model.ts';
import { type TrainSettings, train } from './train.ts';
import type { TrainingSet } from './training-set.ts';
import { FEATURE_NAMES, featuresFromVector } from './user-features.ts';

/** Transforms per feature: log1p for heavy-tailed counts and amounts, none for flags and scores. */
export const DEFAULT_TRANSFORMS: Readonly<Record<(typeof FEATURE_NAMES)[number], Transform>> = {
  velocity_1h_count: 'log1p',
  velocity_1h_amount: 'log1p',
  velocity_24h_count: 'log1p',
  velocity_24h_amount: 'log1p',
  failed_1h_count: 'log1p',
  distinct_devices_24h: 'log1p',
  distinct_merchants_24h: 'log1p',
  distinct_countries_24h: 'log1p',
  new_device: 'none',
  new_country: 'none',
  amount: 'log1p',
  amount_zscore: 'none',
  failure_streak: 'log1p',
  graph_ring_score: 'none',
  graph_component_size: 'log1p',
  established_new_device_and_country: 'none',
};

/**
 * The settings cross-validated for the risk model, by the default model's build and by the batch
 * retrain. Explored with --dry-run on smaller runs: ridge ≥ 0.01 underfits (rare positives), and
 * plain gradient descent keeps improving to ~1,500 steps at these step sizes.
 */
export const RISK_MODEL_GRID: readonly TrainSettings[] = Object.freeze([
  { l2: 0, learningRate: 2, numSteps: 800 },
  { l2: 0, learningRate: 3, numSteps: 1500 },
  { l2: 1e-4, learningRate: 3, numSteps: 1500 },
  { l2: 1e-3, learningRate: 3, numSteps: 1500 },
]);

/** Options of {@link trainAndEvaluate}. */
export interface DefaultTrainingOptions {
  version: string;
  /** Share of users held out (by hash of the user id). Default 0.3. */
  holdoutShare?: number;
  folds?: number;
  grid?: readonly TrainSettings[];
  thresholds?: RiskModel['thresholds'];
  seed?: number;
  metadata?: Record<string, string | number | boolean>;
  /**
   * Share of legitimate training rows kept (default 1). Fraud is rare, so most of the training
   * cost is spent on legitimate rows that add little; the intercept is then corrected by
   * ln(rate) (prior correction for case-control sampling) so probabilities stay calibrated.
   */
  negativeSampleRate?: number;
  /** A model to score on the same held-out rows (the current one, for a promotion decision). */
  baseline?: RiskModel;
}

/** Held-out quality, overall and per tag (pattern) against all legitimate rows. */
export interface EvaluationReport {
  trainRows: number;
  trainPositives: number;
  negativeSampleRate: number;
  testRows: number;
  testPositives: number;
  auc: number;
  precisionAt1Pct: number;
  recallAt1Pct: number;
  precisionAtHalfPct: number;
  reviewRate: number;
  blockRate: number;
  precisionOfBlock: number;
  aucByTag: Record<string, number>;
  /** The baseline model's AUC and precision at 1% on the same held-out rows, when one was given. */
  baselineAuc?: number;
  baselinePrecisionAt1Pct?: number;
  cv: { settings: TrainSettings; meanAuc: number }[];
  best: TrainSettings;
}

const isHoldout = (userId: string, share: number) => murmur3(userId, 7) / 4294967296 < share;

/** Splits by user, trains with cross-validation on the training users, evaluates on the others. */
export function trainAndEvaluate(
  set: TrainingSet,
  opts: DefaultTrainingOptions,
): { model: RiskModel; report: EvaluationReport } {
  const share = opts.holdoutShare ?? 0.3;
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  const rate = opts.negativeSampleRate ?? 1;
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`negativeSampleRate must be in (0, 1], got ${rate}`);
  set.userIds.forEach((u, i) => {
    if (isHoldout(u, share)) testIdx.push(i);
    else if (set.labels[i] === 1 || murmur3(String(i), 11) / 4294967296 < rate) trainIdx.push(i);
  });
  const pick = <T>(xs: readonly T[], idx: readonly number[]) => idx.map((i) => xs[i] as T);
  const result = train(pick(set.rows, trainIdx), pick(set.labels, trainIdx), {
    featureNames: FEATURE_NAMES,
    transforms: FEATURE_NAMES.map((n) => DEFAULT_TRANSFORMS[n]),
    version: opts.version,
    ...(opts.grid ? { grid: opts.grid } : {}),
    ...(opts.folds ? { folds: opts.folds } : {}),
    ...(opts.thresholds ? { thresholds: opts.thresholds } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
  });
  const model = { ...result.model, intercept: result.model.intercept + Math.log(rate) };
  const scored = testIdx.map((i) => score(model, featuresFromVector(set.rows[i] as number[])));
  const s = scored.map((r) => r.score);
  const y = pick(set.labels, testIdx);
  const tags = pick(set.tags, testIdx);
  const aucByTag: Record<string, number> = {};
  for (const tag of [...new Set(tags.filter((t): t is string => t !== undefined))].sort()) {
    const keep = y.flatMap((l, i) => (l === 0 || tags[i] === tag ? [i] : []));
    aucByTag[tag] = auc(pick(s, keep), pick(y, keep));
  }
  const blocked = scored.flatMap((r, i) => (r.decision === 'block' ? [i] : []));
  const report: EvaluationReport = {
    trainRows: trainIdx.length,
    trainPositives: pick(set.labels, trainIdx).filter((l) => l === 1).length,
    negativeSampleRate: rate,
    testRows: testIdx.length,
    testPositives: y.filter((l) => l === 1).length,
    auc: auc(s, y),
    precisionAt1Pct: precisionAtFraction(s, y, 0.01),
    recallAt1Pct: recallAtFraction(s, y, 0.01),
    precisionAtHalfPct: precisionAtFraction(s, y, 0.005),
    reviewRate: scored.filter((r) => r.decision === 'review').length / scored.length,
    blockRate: blocked.length / scored.length,
    precisionOfBlock:
      blocked.length === 0 ? Number.NaN : blocked.filter((i) => y[i] === 1).length / blocked.length,
    aucByTag,
    cv: result.cv.map((c) => ({ settings: c.settings, meanAuc: c.meanAuc })),
    best: result.best,
  };
  if (opts.baseline) {
    const baseline = opts.baseline;
    const b = testIdx.map((i) => score(baseline, featuresFromVector(set.rows[i] as number[])).score);
    report.baselineAuc = auc(b, y);
    report.baselinePrecisionAt1Pct = precisionAtFraction(b, y, 0.01);
  }
  return { model, report };
}
