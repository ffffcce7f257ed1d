import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { auc } from '../../../src/analytics/metrics.ts';
import {
  decide,
  modelInputs,
  parseRiskModel,
  type RiskModel,
  reasonCode,
  score,
  sigmoid,
  standardise,
} from '../../../src/analytics/model.ts';
import { createRng, type Rng } from '../../../src/analytics/prng.ts';
import { DEFAULT_MODEL } from '../../../src/analytics/default-model.ts';
import { fitLogistic, fitScaler, stratifiedFolds, train } from '../../../src/analytics/train.ts';

const NAMES = ['a', 'b', 'c', 'd'];
const TRUE_W = [2, -1, 0, 0.5];
const TRUE_B = -2.5;

function sample(rng: Rng, n: number) {
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [rng.normal(), rng.normal() * 3 + 5, rng.normal(), rng.exponential(2)];
    const logit = TRUE_B + x.reduce((s, v, j) => s + TRUE_W[j]! * (j === 1 ? (v - 5) / 3 : v), 0);
    rows.push(x);
    labels.push(rng.chance(sigmoid(logit)) ? 1 : 0);
  }
  return { rows, labels };
}

const trueLogit = (x: number[]) =>
  TRUE_B + x.reduce((s, v, j) => s + TRUE_W[j]! * (j === 1 ? (v - 5) / 3 : v), 0);

describe('training with ml-logistic-regression', () => {
  it('the extracted weights reproduce the library: testScores and predict', () => {
    const { rows, labels } = sample(createRng(1), 400);
    const scaler = fitScaler(rows, ['none', 'none', 'none', 'log1p']);
    const z = rows.map((r) => standardise(scaler, r));
    const settings = { l2: 0, learningRate: 1, numSteps: 150 };
    const { weights, intercept } = fitLogistic(z, labels, settings);
    const lib = new LogisticRegression({ numSteps: 150, learningRate: 1 / rows.length });
    const X = new Matrix(z.map((r) => [...r, 1]));
    lib.train(X, Matrix.columnVector(labels));
    const libScores = lib.classifiers[0]!.testScores(X);
    const ours = z.map((r) => sigmoid(intercept + r.reduce((s, v, j) => s + weights[j]! * v, 0)));
    for (const [i, p] of ours.entries()) expect(p).toBeCloseTo(libScores[i]!, 12);
    expect(lib.predict(X)).toEqual(ours.map((p) => (p >= 0.5 ? 1 : 0)));
  });

  it('recovers a planted model: signs and near-oracle held-out AUC', () => {
    const train1 = sample(createRng(2), 3_000);
    const test = sample(createRng(3), 3_000);
    const { model, cv, best } = train(train1.rows, train1.labels, {
      featureNames: NAMES,
      version: 't1',
      folds: 3,
      grid: [
        { l2: 0, learningRate: 1, numSteps: 300 },
        { l2: 0.01, learningRate: 1, numSteps: 300 },
      ],
    });
    expect(cv.length).toBe(2);
    expect(cv.every((r) => r.foldAucs.length === 3 && r.meanAuc > 0.7)).toBe(true);
    expect(cv.some((r) => r.settings === best)).toBe(true);
    expect(Math.sign(model.weights[0]!)).toBe(1);
    expect(Math.sign(model.weights[1]!)).toBe(-1);
    expect(Math.abs(model.weights[2]!)).toBeLessThan(0.2);
    const ours = test.rows.map(
      (r) => score(model, Object.fromEntries(NAMES.map((n, j) => [n, r[j]!]))).score,
    );
    const oracle = auc(test.rows.map(trueLogit), test.labels);
    expect(auc(ours, test.labels)).toBeGreaterThan(oracle - 0.01);
    expect(parseRiskModel(JSON.parse(JSON.stringify(model)))).toEqual(model);
  });

  it('L2 pseudo-observations shrink the weights', () => {
    const { rows, labels } = sample(createRng(4), 1_000);
    const z = rows.map((r) => standardise(fitScaler(rows, ['none', 'none', 'none', 'none']), r));
    const norm = (l2: number) =>
      Math.hypot(...fitLogistic(z, labels, { l2, learningRate: 1, numSteps: 300 }).weights);
    expect(norm(0.05)).toBeLessThan(norm(0) * 0.9);
    expect(norm(0.5)).toBeLessThan(norm(0.05));
  });

  it('stratified folds cover every row once, with balanced classes', () => {
    const rng = createRng(5);
    const labels = Array.from({ length: 1_003 }, () => (rng.chance(0.05) ? 1 : 0));
    const fold = stratifiedFolds(labels, 5, 9);
    for (let f = 0; f < 5; f++) {
      const inF = labels.filter((_, i) => fold[i] === f);
      expect(Math.abs(inF.length - 1_003 / 5)).toBeLessThanOrEqual(2);
      const pos = inF.filter((l) => l === 1).length;
      expect(Math.abs(pos - labels.filter((l) => l === 1).length / 5)).toBeLessThanOrEqual(1);
    }
    expect(stratifiedFolds(labels, 5, 9)).toEqual(fold);
  });

  it('rejects bad input', () => {
    expect(() => train([[1]], [1], { featureNames: ['a'], version: 'x' })).toThrow(RangeError);
    expect(() => train([[1], [2]], [1], { featureNames: ['a'], version: 'x' })).toThrow(RangeError);
    expect(() =>
      train(
        [
          [1, 2],
          [2, 1],
        ],
        [1, 0],
        { featureNames: ['a'], version: 'x' },
      ),
    ).toThrow(RangeError);
  });
});

describe('scoring', () => {
  const model: RiskModel = {
    version: 'v7',
    featureNames: ['velocity_1h_count', 'new_device', 'amount', 'graph_component_size', 'failure_streak'],
    transforms: ['log1p', 'none', 'log1p', 'none', 'none'],
    means: [1, 0.1, 3, 2, 0.2],
    stds: [0.5, 0.3, 1, 1, 0.5],
    weights: [1.2, 0.8, 0.5, -0.4, 0.9],
    intercept: -4,
    thresholds: { review: 0.5, block: 0.9 },
  };
  const f = (v: number[]) => Object.fromEntries(model.featureNames.map((n, j) => [n, v[j]!]));

  it('is σ(intercept + w·z) with the top three positive contributions as reasons', () => {
    const x = [20, 1, 20, 1, 0];
    const r = score(model, f(x));
    const z = standardise(model, x);
    const contrib = z.map((v, j) => v * model.weights[j]!);
    expect(r.score).toBeCloseTo(sigmoid(-4 + contrib.reduce((a, b) => a + b, 0)), 14);
    expect(r.modelVersion).toBe('v7');
    expect(r.decision).toBe(decide(r.score, model.thresholds));
    const expected = contrib
      .map((c, j) => ({ c, j }))
      .filter((e) => e.c > 0)
      .sort((a, b) => b.c - a.c)
      .slice(0, 3)
      .map((e) => model.featureNames[e.j]);
    expect(r.reasons.map((x) => x.feature)).toEqual(expected);
    expect(r.reasons.map((x) => x.code)).toContain('velocity_1h_high');
    expect(r.reasons.map((x) => x.code)).toContain('shared_device_cluster_low'); // negative weight × below-mean size
    expect(
      r.reasons.every(
        (x, i, a) => x.contribution > 0 && (i === 0 || a[i - 1]!.contribution >= x.contribution),
      ),
    ).toBe(true);
  });

  it('decides by thresholds and clips absurd inputs', () => {
    expect(decide(0.49, model.thresholds)).toBe('allow');
    expect(decide(0.5, model.thresholds)).toBe('review');
    expect(decide(0.9, model.thresholds)).toBe('block');
    const quiet = score(model, f([1, 0, 3, 5, 0]));
    expect(quiet.decision).toBe('allow');
    expect(quiet.score).toBeGreaterThanOrEqual(0);
    const wild = score(model, f([1e9, 1, 1e9, 1, 1e6]));
    expect(wild.decision).toBe('block');
    expect(standardise(model, [1e9, 1, 1e9, 1, 1e6]).every((v) => Math.abs(v) <= 10)).toBe(true);
    expect(reasonCode('new_country', 1)).toBe('new_country');
    expect(reasonCode('amount_zscore', 2)).toBe('amount_unusual_for_user_high');
  });

  it('refuses a missing feature and inconsistent models', () => {
    expect(() => score(model, { velocity_1h_count: 1 })).toThrow(RangeError);
    expect(() => score(model, f([Number.NaN, 0, 0, 0, 0]))).toThrow(RangeError);
    expect(() => parseRiskModel({ ...model, weights: [1] })).toThrow();
    expect(() => parseRiskModel({ ...model, stds: [0, 1, 1, 1, 1] })).toThrow();
    expect(() => parseRiskModel({ ...model, thresholds: { review: 0.9, block: 0.5 } })).toThrow();
    expect(() => parseRiskModel({ ...model, extra: 1 })).toThrow();
    expect(parseRiskModel(model)).toEqual(model);
  });
});

describe('score (one pass) against the composition it replaces', () => {
  /** modelInputs → standardise → logit → sort the positive contributions: the definition. */
  function reference(model: RiskModel, features: Readonly<Record<string, number>>, maxReasons = 3) {
    const raw = modelInputs(model, features);
    const zs = standardise(model, raw);
    let logit = model.intercept;
    const contributions = zs.map((zv, j) => {
      const c = (model.weights[j] as number) * zv;
      logit += c;
      return { j, c, zv };
    });
    const s = sigmoid(logit);
    const reasons = contributions
      .filter((x) => x.c > 0)
      .sort((a, b) => b.c - a.c || a.j - b.j)
      .slice(0, maxReasons)
      .map(({ j, c, zv }) => ({ code: reasonCode(model.featureNames[j]!, zv), feature: model.featureNames[j]!, value: raw[j]!, contribution: c }));
    return { score: s, decision: decide(s, model.thresholds), reasons, modelVersion: model.version };
  }

  it('gives identical scores, decisions and reasons (ties included) on random features', () => {
    const rand = createRng(7);
    // Equal weights and means on the first features make equal contributions (ties by index).
    const tied: RiskModel = {
      ...DEFAULT_MODEL,
      weights: DEFAULT_MODEL.weights.map((w, j) => (j < 4 ? 0.5 : w)),
      means: DEFAULT_MODEL.means.map((m, j) => (j < 4 ? 0 : m)),
      stds: DEFAULT_MODEL.stds.map((s, j) => (j < 4 ? 1 : s)),
      transforms: DEFAULT_MODEL.transforms.map((t, j) => (j < 4 ? 'none' : t)),
    };
    for (const model of [DEFAULT_MODEL, tied]) {
      for (let i = 0; i < 2_000; i += 1) {
        const same = rand.next() * 5;
        const features = Object.fromEntries(
          model.featureNames.map((n, j) => [n, j < 4 && i % 2 === 0 ? same : (rand.next() - 0.3) * 10 ** Math.floor(rand.next() * 5)]),
        );
        for (const maxReasons of [0, 1, 2.5, 3, 20]) expect(score(model, features, maxReasons)).toEqual(reference(model, features, maxReasons));
      }
    }
  });
});
