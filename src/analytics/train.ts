/**
 * Training of the logistic-regression risk model with ml-logistic-regression (PRODUCT §5):
 * transform + standardise (statistics from the training rows only), k-fold stratified
 * cross-validation over a grid of settings, AUC for selection, final fit on all rows.
 *
 * The library is plain full-batch gradient ascent on the log-likelihood with no intercept and no
 * regularisation, so two things are added around it, without forking it:
 * - intercept: a constant column of ones; its weight is the intercept.
 * - L2 regularisation by pseudo-observations: for each feature j two extra rows c·e_j, one labelled
 *   1 and one 0 (zero in the intercept column). Their gradient is −c·tanh(c·w_j/2) ≈ −(c²/2)·w_j,
 *   i.e. a ridge penalty (λ/2)·n·w_j² with c = √(2λn) for small weights, flattening for large ones
 *   (a log-F prior, Greenland 2015). The intercept is not penalised.
 * The library sums the gradient over rows, so the learning rate passed to it is divided by n:
 * settings mean the same thing at any data size. Early stopping (numSteps) also regularises,
 * which is why it is part of the grid.
 */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { auc } from './metrics.ts';
import { applyTransform, type RiskModel, standardise, type Transform } from './model.ts';
import { createRng } from './prng.ts';

/** One point of the search grid. */
export interface TrainSettings {
  /** Ridge strength λ on the mean log-likelihood (0 = none). */
  l2: number;
  /** Step size on the mean gradient. */
  learningRate: number;
  numSteps: number;
}

/** Training options. */
export interface TrainOptions {
  featureNames: readonly string[];
  /** Per-feature transform (default 'none'). */
  transforms?: readonly Transform[];
  version: string;
  thresholds?: RiskModel['thresholds'];
  /** Settings to cross-validate; the first is used when folds < 2. */
  grid?: readonly TrainSettings[];
  folds?: number;
  seed?: number;
  metadata?: Record<string, string | number | boolean>;
}

/** Cross-validation outcome of one setting. */
export interface CvResult {
  settings: TrainSettings;
  foldAucs: number[];
  meanAuc: number;
}

/** The trained model and how it was chosen. */
export interface TrainResult {
  model: RiskModel;
  cv: CvResult[];
  best: TrainSettings;
}

/** Default grid: 2 strengths × 2 step sizes × 2 lengths. */
export const DEFAULT_GRID: readonly TrainSettings[] = [0, 0.01].flatMap((l2) =>
  [0.5, 2].flatMap((learningRate) => [200, 800].map((numSteps) => ({ l2, learningRate, numSteps }))),
);

/** Means and standard deviations of the transformed columns (a constant column gets std 1). */
export function fitScaler(
  rows: readonly (readonly number[])[],
  transforms: readonly Transform[],
): Pick<RiskModel, 'transforms' | 'means' | 'stds'> {
  const d = transforms.length;
  const t = rows.map((r) => r.map((x, j) => applyTransform(transforms[j] ?? 'none', x)));
  const means = new Array<number>(d).fill(0);
  for (const r of t)
    for (let j = 0; j < d; j++) means[j] = (means[j] as number) + (r[j] as number) / t.length;
  const stds = means.map((m, j) => {
    let s = 0;
    for (const r of t) s += ((r[j] as number) - m) ** 2;
    const sd = Math.sqrt(s / Math.max(1, t.length - 1));
    return sd > 1e-9 ? sd : 1;
  });
  return { transforms: [...transforms], means, stds };
}

/**
 * Fits weights on already standardised rows with the library. Returns weights and intercept such
 * that P(y = 1 | z) = σ(intercept + w·z).
 */
export function fitLogistic(
  zRows: readonly (readonly number[])[],
  labels: readonly number[],
  s: TrainSettings,
): { weights: number[]; intercept: number } {
  const n = zRows.length;
  const d = (zRows[0] ?? []).length;
  const data = zRows.map((r) => [...r, 1]);
  const y = [...labels];
  if (s.l2 > 0) {
    const c = Math.sqrt(2 * s.l2 * n);
    for (let j = 0; j < d; j++) {
      const row = new Array<number>(d + 1).fill(0);
      row[j] = c;
      data.push(row, row.slice());
      y.push(1, 0);
    }
  }
  const lr = new LogisticRegression({ numSteps: s.numSteps, learningRate: s.learningRate / n });
  lr.train(new Matrix(data), Matrix.columnVector(y));
  const classifier = lr.classifiers[0];
  if (classifier === undefined) throw new RangeError('training produced no classifier');
  // classifiers[0] is "class 0 → target 0, others → 1": it models P(y = 1) (see the .d.ts).
  const w = classifier.weights.to1DArray();
  return { weights: w.slice(0, d), intercept: w[d] as number };
}

/** Stratified k-fold assignment: fold index per row, positives and negatives spread evenly. */
export function stratifiedFolds(labels: readonly number[], k: number, seed: number): number[] {
  const rng = createRng(seed);
  const fold = new Array<number>(labels.length).fill(0);
  for (const cls of [0, 1]) {
    const idx = rng.shuffle(labels.flatMap((l, i) => (l === cls ? [i] : [])));
    idx.forEach((row, pos) => {
      fold[row] = pos % k;
    });
  }
  return fold;
}

function fitModel(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  transforms: readonly Transform[],
  s: TrainSettings,
) {
  const scaler = fitScaler(rows, transforms);
  const fitted = fitLogistic(
    rows.map((r) => standardise(scaler, r)),
    labels,
    s,
  );
  return { ...scaler, ...fitted };
}

function predictAll(m: ReturnType<typeof fitModel>, rows: readonly (readonly number[])[]): number[] {
  return rows.map((r) => {
    const z = standardise(m, r);
    let logit = m.intercept;
    for (let j = 0; j < z.length; j++) logit += (m.weights[j] as number) * (z[j] as number);
    return logit; // AUC only needs the order, and the logit is monotone in the probability
  });
}

/** Mean held-out AUC of every setting over k stratified folds (statistics fitted per fold). */
export function crossValidate(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  transforms: readonly Transform[],
  grid: readonly TrainSettings[],
  k: number,
  seed: number,
): CvResult[] {
  const fold = stratifiedFolds(labels, k, seed);
  const pick = <T>(xs: readonly T[], idx: readonly number[]) => idx.map((i) => xs[i] as T);
  return grid.map((settings) => {
    const foldAucs: number[] = [];
    for (let f = 0; f < k; f++) {
      const trainIdx = rows.flatMap((_, i) => (fold[i] === f ? [] : [i]));
      const testIdx = rows.flatMap((_, i) => (fold[i] === f ? [i] : []));
      const m = fitModel(pick(rows, trainIdx), pick(labels, trainIdx), transforms, settings);
      foldAucs.push(auc(predictAll(m, pick(rows, testIdx)), pick(labels, testIdx)));
    }
    return { settings, foldAucs, meanAuc: foldAucs.reduce((a, b) => a + b, 0) / k };
  });
}

/**
 * Trains a model: cross-validates every grid setting by mean fold AUC (ties: earlier setting), then
 * refits the best on all rows.
 * @throws RangeError on inconsistent shapes or when a class is missing
 */
export function train(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  opts: TrainOptions,
): TrainResult {
  const d = opts.featureNames.length;
  if (rows.length !== labels.length) throw new RangeError('rows and labels differ in length');
  if (rows.some((r) => r.length !== d)) throw new RangeError(`every row must have ${d} features`);
  if (!labels.includes(1) || !labels.includes(0)) throw new RangeError('training needs both classes');
  const transforms = opts.transforms ?? new Array<Transform>(d).fill('none');
  const grid = opts.grid ?? DEFAULT_GRID;
  const k = opts.folds ?? 5;
  const cv =
    k >= 2 && grid.length > 1 ? crossValidate(rows, labels, transforms, grid, k, opts.seed ?? 1) : [];
  const best = cv.length
    ? cv.reduce((a, b) => (b.meanAuc > a.meanAuc ? b : a)).settings
    : (grid[0] as TrainSettings);
  const m = fitModel(rows, labels, transforms, best);
  const model: RiskModel = {
    version: opts.version,
    featureNames: [...opts.featureNames],
    transforms: m.transforms,
    means: m.means,
    stds: m.stds,
    weights: m.weights,
    intercept: m.intercept,
    thresholds: opts.thresholds ?? { review: 0.5, block: 0.8 },
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
  };
  return { model, cv, best };
}
