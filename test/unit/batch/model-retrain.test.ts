import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from '../../../src/analytics/default-model.ts';
import type { RiskModel } from '../../../src/analytics/model.ts';
import { type ModelRetrainInput, runModelRetrain } from '../../../src/batch/model-retrain.ts';
import type { FraudLabel } from '../../../src/contract/label.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';
import {
  jobContext,
  MemoryLabels,
  MemoryLake,
  MemoryModels,
  MemoryReports,
} from '../../support/batch-memory.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// 8 days of synthetic traffic from 2026-01-01 with planted fraud (card testing, a ring, ATO),
// delivered as the bronze lake would hold it: in emission order, duplicates and late events included.
const traffic = generateTraffic(generatorOptions({ seed: 'retrain-unit', events: 8_000, periodMs: 8 * DAY }));
const ROWS = traffic.emissions.map((e) => ({ ...e.event }) as Record<string, unknown>);
const LABELS: FraudLabel[] = traffic.labels.map((l) => ({ ...l.label }));
const MAX_TS = Math.max(...ROWS.map((r) => r.ts_ms as number));
// shortly after the last event: the fraud labels of the last day are partly still to come
const AS_OF = Date.UTC(2026, 0, 9, 1, 2, 3, 456);
const VERSION = 'retrain-20260109T010203456';
// Corrections on the labels topic: a later label of an event replaces an earlier one (by label
// time, not topic order); a correction still in the future of as-of changes nothing.
const fraudLabels = LABELS.filter((l) => l.label === 'fraud' && l.label_ts_ms < AS_OF - 2 * HOUR);
const legitLabels = LABELS.filter((l) => l.label === 'legit' && l.label_ts_ms < AS_OF - 2 * HOUR);
const CORRECTED: FraudLabel[] = [
  // sent before the labels they override (topic order is not label time)
  ...fraudLabels
    .slice(0, 8)
    .map((l) => ({ ...l, label: 'legit' as const, label_ts_ms: l.label_ts_ms + HOUR })),
  ...LABELS,
  ...fraudLabels.slice(8, 12).map((l) => ({ ...l, label: 'legit' as const, label_ts_ms: AS_OF + HOUR })),
  ...legitLabels
    .slice(0, 6)
    .map((l) => ({ ...l, label: 'fraud' as const, label_ts_ms: l.label_ts_ms + 30 * MINUTE })),
  // an older fraud label after a newer legit one: the newer one still wins
  ...fraudLabels.slice(12, 16).flatMap((l) => [
    { ...l, label: 'legit' as const, label_ts_ms: l.label_ts_ms + 2 * HOUR },
    { ...l, label_ts_ms: l.label_ts_ms + HOUR },
  ]),
];
const INPUT: ModelRetrainInput = {
  lookbackMs: 7 * DAY, // the first day of traffic is outside the window
  labelMaturityMs: 0,
  minAucGain: 0,
  minTestPositives: 5,
  allowedLatenessMs: 20 * MINUTE,
  negativeSampleRate: 0.1,
};

function run(
  input: Partial<ModelRetrainInput> = {},
  opts: { labels?: FraudLabel[]; models?: MemoryModels; fallback?: RiskModel } = {},
) {
  const models = opts.models ?? new MemoryModels();
  const reports = new MemoryReports();
  const ctx = jobContext(AS_OF);
  const lake = new MemoryLake(ROWS);
  const done = runModelRetrain(
    {
      lake,
      labels: new MemoryLabels(opts.labels ?? LABELS),
      models,
      reports,
      fallback: opts.fallback ?? DEFAULT_MODEL,
    },
    { ...INPUT, ...input },
    ctx,
  );
  return done.then((result) => ({ result, models, reports, ctx, lake }));
}

/**
 * Brute force of what the job should train on: the stored rows of [as-of − lookback, as-of −
 * maturity), first copy of each event id, minus the events the replay skips as late (more than
 * the allowed lateness behind the largest event time accepted before them, in arrival order);
 * fraud when the event's latest label known at as-of (label_ts_ms ≤ as-of; a later label
 * replaces an earlier one, and at equal times the later one in the topic wins) says fraud.
 */
function oracle(labels: readonly FraudLabel[], input: ModelRetrainInput = INPUT) {
  const fromMs = AS_OF - input.lookbackMs;
  const toMs = AS_OF - input.labelMaturityMs;
  const seen = new Set<string>();
  let maxTs = Number.NEGATIVE_INFINITY;
  let late = 0;
  const accepted: Record<string, unknown>[] = [];
  for (const r of ROWS) {
    const ts = r.ts_ms as number;
    if (ts < fromMs || ts >= toMs) continue;
    const id = r.event_id as string;
    if (seen.has(id)) continue;
    seen.add(id);
    if (ts < maxTs - input.allowedLatenessMs) {
      late += 1;
      continue;
    }
    maxTs = Math.max(maxTs, ts);
    accepted.push(r);
  }
  const latest = new Map<string, FraudLabel>();
  for (const l of labels) {
    if (l.label_ts_ms > AS_OF) continue;
    const prev = latest.get(l.event_id);
    if (prev === undefined || l.label_ts_ms >= prev.label_ts_ms) latest.set(l.event_id, l);
  }
  const fraud = accepted.filter((r) => latest.get(r.event_id as string)?.label === 'fraud').length;
  return { rows: accepted.length, fraud, late, labelledEvents: latest.size };
}

describe('model retrain job', () => {
  it('the fixture exercises the filters: events outside the window, late events, labels still to come', () => {
    expect(MAX_TS).toBeLessThan(AS_OF);
    expect(MAX_TS).toBeGreaterThan(AS_OF - 3 * HOUR);
    const o = oracle(LABELS);
    expect(o.late).toBeGreaterThan(0);
    expect(ROWS.filter((r) => (r.ts_ms as number) < AS_OF - INPUT.lookbackMs).length).toBeGreaterThan(500);
    const futureFraud = LABELS.filter((l) => l.label === 'fraud' && l.label_ts_ms > AS_OF).length;
    expect(futureFraud).toBeGreaterThan(0);
    // the naive count (every planted fraud event in the window) differs from the oracle's
    const naive = new Set(
      traffic.emissions
        .filter((e) => e.truth.is_fraud && e.event.ts_ms >= AS_OF - INPUT.lookbackMs)
        .map((e) => e.event.event_id),
    ).size;
    expect(o.fraud).toBeLessThan(naive);
    expect(o.fraud).toBeGreaterThanOrEqual(2 * INPUT.minTestPositives);
    // the corrections change the fraud count (some legit events were corrected to fraud, more the other way)
    expect(new Set(CORRECTED.map((l) => l.event_id)).size).toBe(new Set(LABELS.map((l) => l.event_id)).size);
    expect(oracle(CORRECTED).fraud).toBeLessThan(o.fraud);
    expect(oracle(CORRECTED).fraud).toBeGreaterThanOrEqual(2 * INPUT.minTestPositives);
  });

  it('publishes the candidate as retrain-<as-of>, trains on the brute-force rows and fraud, promotes iff it beats the fallback', async () => {
    const { result, models, reports, lake, ctx } = await run({}, { labels: CORRECTED });
    const o = oracle(CORRECTED);
    expect(lake.ranges).toEqual([{ fromMs: AS_OF - 7 * DAY, toMs: AS_OF, arrivedBeforeMs: AS_OF }]);
    expect(result.version).toBe(VERSION);
    expect(result.baselineVersion).toBe(DEFAULT_MODEL.version);
    expect(result.rows).toBe(o.rows);
    expect(result.positives).toBe(o.fraud);
    expect(result.labels).toBe(o.labelledEvents);
    const report = result.report!;
    expect(report).not.toBeNull();
    // every fraud row is kept for training (only legitimate rows are sampled), so the split adds up
    expect(report.trainPositives + report.testPositives).toBe(o.fraud);
    expect(report.testRows).toBeLessThan(o.rows);
    expect(report.testPositives).toBeGreaterThanOrEqual(INPUT.minTestPositives);
    expect(report.auc).toBeGreaterThan(0.5);
    expect(report.auc).toBeLessThanOrEqual(1);
    expect(report.baselineAuc).toBeGreaterThan(0.5);

    const published = models.models.get(VERSION);
    expect(published?.version).toBe(VERSION);
    expect(published?.thresholds).toEqual(DEFAULT_MODEL.thresholds); // the baseline's operating point
    expect(published?.metadata).toMatchObject({
      source: 'retrain',
      asOfMs: AS_OF,
      rows: o.rows,
      positives: o.fraud,
    });
    const shouldPromote = report.auc - report.baselineAuc! >= INPUT.minAucGain;
    expect(result.promoted).toBe(shouldPromote);
    expect(models.current).toBe(shouldPromote ? VERSION : null);
    expect(result.reason).toContain(report.auc.toFixed(4));
    expect(result.reason).toContain(DEFAULT_MODEL.version);
    expect(reports.reports.get('model-retrain')).toEqual(result);
    expect(ctx.progressSeen.at(-1)).toBe(100);
  });

  it('is promoted over a worse current model from the registry, judged on the same held-out rows', async () => {
    // the current registry model ranks backwards: held-out AUC well below 0.5
    const inverted: RiskModel = {
      ...DEFAULT_MODEL,
      version: 'inverted-1',
      weights: DEFAULT_MODEL.weights.map((w) => -w),
      intercept: -DEFAULT_MODEL.intercept,
      thresholds: { review: 0.4, block: 0.9 },
    };
    const models = new MemoryModels();
    await models.publish(inverted);
    await models.promote('inverted-1');
    const { result } = await run({ minAucGain: 0.05 }, { models });
    const report = result.report!;
    expect(result.baselineVersion).toBe('inverted-1');
    expect(report.baselineAuc).toBeLessThan(0.5);
    expect(report.auc - report.baselineAuc!).toBeGreaterThanOrEqual(0.05);
    expect(result.promoted).toBe(true);
    expect(models.current).toBe(VERSION);
    expect(models.models.get(VERSION)?.thresholds).toEqual({ review: 0.4, block: 0.9 });
    expect(result.reason).toContain('inverted-1');
  });

  it('with minAucGain 1 the candidate is published for audit but not promoted, and the reason says why', async () => {
    const { result, models } = await run({ minAucGain: 1 });
    expect(models.models.has(VERSION)).toBe(true);
    expect(result.promoted).toBe(false);
    expect(models.current).toBeNull();
    expect(result.reason).toMatch(/does not beat/);
    expect(result.reason).toContain(
      `${DEFAULT_MODEL.version}'s ${result.report!.baselineAuc!.toFixed(4)} by 1`,
    );
  });

  it('with every label still in the future nothing is trained: too few fraud rows, no report, nothing published', async () => {
    const future = LABELS.map((l) => ({ ...l, label_ts_ms: AS_OF + 1 + (l.label_ts_ms % HOUR) }));
    expect(oracle(future).fraud).toBe(0);
    const { result, models, reports } = await run({}, { labels: future });
    expect(result).toMatchObject({
      version: VERSION,
      positives: 0,
      labels: 0,
      promoted: false,
      report: null,
    });
    expect(result.rows).toBe(oracle(future).rows);
    expect(result.reason).toMatch(/too few fraud rows to train \(0\)/);
    expect(models.models.size).toBe(0);
    expect(models.current).toBeNull();
    expect(reports.reports.get('model-retrain')).toEqual(result);
  });

  it('a retried run with the same inputs and as-of publishes an identical model (idempotent)', async () => {
    const first = await run();
    const second = await run();
    const a = first.models.models.get(VERSION);
    const b = second.models.models.get(VERSION);
    expect(a).toBeDefined();
    expect(b).toEqual(a);
    expect(second.result).toEqual(first.result);
    // into the same registry: the version is there, so the retry does not train again (rows that
    // arrived since could make it differ); it applies the recorded decision and says so
    const again = await run({}, { models: first.models });
    expect(again.models.models.get(VERSION)).toEqual(a);
    expect(again.result).toMatchObject({ version: VERSION, promoted: first.result.promoted, report: null, rows: first.result.rows, positives: first.result.positives });
    expect(again.result.reason).toBe(`trained by an earlier attempt: ${first.result.reason}`);
  });

  it('a retry after a crash between publish and promote promotes the model the first attempt chose', async () => {
    const first = await run();
    expect(first.result.promoted).toBe(true);
    expect(first.models.models.get(VERSION)?.metadata).toMatchObject({ promote: true, reason: first.result.reason, baselineVersion: DEFAULT_MODEL.version });
    first.models.current = null; // as if the first attempt died before promote()
    const retry = await run({}, { models: first.models });
    expect(first.models.current).toBe(VERSION);
    expect(retry.result.promoted).toBe(true);
    expect(retry.lake.ranges).toEqual([]); // no lake read, no training
  });

  it('rows that reached Kafka within the settle time before as-of wait for the next run', async () => {
    const settled = await run({ settleMs: 60_000 });
    expect(settled.lake.ranges).toEqual([{ fromMs: AS_OF - 7 * DAY, toMs: AS_OF, arrivedBeforeMs: AS_OF - 60_000 }]);
  });
});
