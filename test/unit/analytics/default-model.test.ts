import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, DEFAULT_MODEL_REPORT } from '../../../src/analytics/default-model.ts';
import { auc, precisionAtFraction } from '../../../src/analytics/metrics.ts';
import { parseRiskModel, score } from '../../../src/analytics/model.ts';
import { buildTrainingSet } from '../../../src/analytics/training-set.ts';
import {
  FEATURE_NAMES,
  featuresFromVector,
  resolveUserFeatureConfig,
  type UserFeatures,
} from '../../../src/analytics/user-features.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';

const HOUR = 3_600_000;

const typical: UserFeatures = {
  velocity_1h_count: 1,
  velocity_1h_amount: 30,
  velocity_24h_count: 3,
  velocity_24h_amount: 90,
  failed_1h_count: 0,
  distinct_devices_24h: 1,
  distinct_merchants_24h: 2,
  distinct_countries_24h: 1,
  new_device: 0,
  new_country: 0,
  amount: 30,
  amount_zscore: 0.1,
  failure_streak: 0,
  graph_ring_score: 0,
  graph_component_size: 1,
  established_new_device_and_country: 0,
};

describe('built-in default model', () => {
  it('is a valid model over the current feature names', () => {
    expect(parseRiskModel(DEFAULT_MODEL)).toEqual(DEFAULT_MODEL);
    expect(DEFAULT_MODEL.featureNames).toEqual([...FEATURE_NAMES]);
    expect(DEFAULT_MODEL_REPORT.auc).toBeGreaterThanOrEqual(0.9);
  });

  it('scores sensibly: ordinary purchase allowed; card testing and takeover flagged with reasons', () => {
    const normal = score(DEFAULT_MODEL, typical);
    expect(normal.decision).toBe('allow');
    expect(normal.score).toBeLessThan(0.05);
    const cardTesting = score(DEFAULT_MODEL, {
      ...typical,
      velocity_1h_count: 30,
      velocity_1h_amount: 45,
      failed_1h_count: 21,
      failure_streak: 6,
      amount: 1.5,
      new_device: 1,
    });
    expect(cardTesting.score).toBeGreaterThan(0.5);
    expect(cardTesting.reasons.length).toBeGreaterThan(0);
    const takeover = score(DEFAULT_MODEL, {
      ...typical,
      new_device: 1,
      new_country: 1,
      distinct_devices_24h: 2,
      distinct_countries_24h: 2,
      amount: 3_000,
      velocity_1h_amount: 3_000,
      amount_zscore: 12,
      established_new_device_and_country: 1,
    });
    expect(takeover.score).toBeGreaterThan(normal.score * 10);
    expect(takeover.decision).not.toBe('allow');
    expect(takeover.reasons[0]?.code).toBe('new_device_and_country');
  });

  it('reaches AUC ≥ 0.9 on traffic it has never seen (another generator seed)', () => {
    const traffic = generateTraffic(
      generatorOptions({ seed: 'unit-holdout-7', events: 15_000, periodMs: 48 * HOUR }),
    );
    const set = buildTrainingSet(
      traffic.emissions.map((e) => ({ event: e.event, isFraud: e.truth.is_fraud })),
      traffic.labels.map(({ label }) => ({
        user_id: label.user_id,
        label: label.label,
        label_ts_ms: label.label_ts_ms,
      })),
      { features: resolveUserFeatureConfig(), graphRebuildEveryMs: 6 * HOUR },
    );
    const s = set.rows.map((r) => score(DEFAULT_MODEL, featuresFromVector(r)).score);
    expect(set.labels.filter((l) => l === 1).length).toBeGreaterThan(30);
    expect(auc(s, set.labels)).toBeGreaterThanOrEqual(0.9);
    expect(precisionAtFraction(s, set.labels, 0.01)).toBeGreaterThan(0.3);
  });
});
