/**
 * Logistic-regression risk scoring (PRODUCT §3): a model is plain JSON (stored in the versioned
 * registry in Redis) and scoring is a dot product, so hot-swapping a model is swapping an object.
 *
 *   score = σ(intercept + Σ_j w_j · z_j),  z_j = clip((T_j(x_j) − mean_j) / std_j, ±Z_CLIP)
 * where T_j is the feature's transform (log1p tames heavy-tailed amounts and counts). Training
 * (src/analytics/train.ts) uses exactly {@link standardise}, so what is scored is what was fitted.
 * Reasons: the features with the largest positive contributions w_j · z_j (what pushed the score
 * up), at most three, as stable reason codes.
 */
import { z } from 'zod';

/** Clip for standardised values: one absurd input cannot dominate the score. */
export const Z_CLIP = 10;

/** Per-feature transforms applied before standardisation. */
export const TRANSFORMS = ['none', 'log1p'] as const;
/** One transform. */
export type Transform = (typeof TRANSFORMS)[number];

const finite = z.number().refine(Number.isFinite, { error: 'must be finite' });
const probability = z.number().min(0).max(1);

/** Schema of a stored model (registry JSON): validate with {@link parseRiskModel}. */
export const riskModelSchema = z
  .strictObject({
    version: z.string().min(1).max(128),
    featureNames: z.array(z.string().min(1)).min(1),
    transforms: z.array(z.enum(TRANSFORMS)),
    means: z.array(finite),
    stds: z.array(finite.refine((v) => v > 0, { error: 'must be positive' })),
    weights: z.array(finite),
    intercept: finite,
    thresholds: z.strictObject({ review: probability, block: probability }),
    /** Free-form provenance (training data, metrics); not used for scoring. */
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .superRefine((m, ctx) => {
    const d = m.featureNames.length;
    for (const k of ['transforms', 'means', 'stds', 'weights'] as const) {
      if (m[k].length !== d) ctx.addIssue({ code: 'custom', path: [k], message: `must have ${d} entries` });
    }
    if (new Set(m.featureNames).size !== d) {
      ctx.addIssue({ code: 'custom', path: ['featureNames'], message: 'must be unique' });
    }
    if (m.thresholds.review > m.thresholds.block) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: 'review must not exceed block' });
    }
  });

/** A scoring model. */
export type RiskModel = z.infer<typeof riskModelSchema>;

/** Validates unknown JSON as a model. @throws ZodError with paths on any inconsistency */
export function parseRiskModel(json: unknown): RiskModel {
  return riskModelSchema.parse(json);
}

/** Decision of a score against thresholds. */
export type Decision = 'allow' | 'review' | 'block';

/** One reason: a feature that pushed the score up. */
export interface Reason {
  code: string;
  feature: string;
  /** The raw feature value. */
  value: number;
  /** w · z: its push on the log-odds. */
  contribution: number;
}

/** The outcome of scoring one event. */
export interface RiskScore {
  score: number;
  decision: Decision;
  reasons: Reason[];
  modelVersion: string;
}

/** Reason-code stem per feature; a code is `<stem>_high` or `<stem>_low` (flags: the flag name). */
const REASON_STEMS: Readonly<Record<string, string>> = {
  velocity_1h_count: 'velocity_1h',
  velocity_1h_amount: 'amount_1h',
  velocity_24h_count: 'velocity_24h',
  velocity_24h_amount: 'amount_24h',
  failed_1h_count: 'failures_1h',
  distinct_devices_24h: 'devices_24h',
  distinct_merchants_24h: 'merchants_24h',
  distinct_countries_24h: 'countries_24h',
  amount: 'amount',
  amount_zscore: 'amount_unusual_for_user',
  failure_streak: 'failure_streak',
  graph_ring_score: 'ring_score',
  graph_component_size: 'shared_device_cluster',
};
/** 0/1 features: the code names the flag itself. */
const FLAGS: Readonly<Record<string, string>> = {
  new_device: 'new_device',
  new_country: 'new_country',
  established_new_device_and_country: 'new_device_and_country',
};

/** Stable, human-readable reason code for a feature pushing in direction `z`. */
export function reasonCode(feature: string, z: number): string {
  const flag = FLAGS[feature];
  if (flag !== undefined) return z > 0 ? flag : `not_${flag}`;
  return `${REASON_STEMS[feature] ?? feature}_${z > 0 ? 'high' : 'low'}`;
}

/** Both codes of each feature seen, [up, down]: the code strings are built once, not per payment. */
const codesByFeature = new Map<string, readonly [string, string]>();

/** {@link reasonCode}, with the strings kept per feature (a model has a handful of features). */
function cachedReasonCode(feature: string, z: number): string {
  let codes = codesByFeature.get(feature);
  if (codes === undefined) {
    codes = [reasonCode(feature, 1), reasonCode(feature, -1)];
    codesByFeature.set(feature, codes);
  }
  return z > 0 ? codes[0] : codes[1];
}

/** A feature transform (log1p keeps the sign, so it is defined for any finite input). */
export function applyTransform(t: Transform, x: number): number {
  return t === 'log1p' ? Math.sign(x) * Math.log1p(Math.abs(x)) : x;
}

/** Transformed, standardised, clipped values, in the model's feature order. */
export function standardise(
  m: Pick<RiskModel, 'transforms' | 'means' | 'stds'>,
  raw: readonly number[],
): number[] {
  return raw.map((x, j) => {
    const v = (applyTransform(m.transforms[j] ?? 'none', x) - (m.means[j] as number)) / (m.stds[j] as number);
    return Math.max(-Z_CLIP, Math.min(Z_CLIP, v));
  });
}

/** Logistic function, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Decision for a score: block ≥ thresholds.block, else review ≥ thresholds.review, else allow. */
export function decide(score: number, thresholds: RiskModel['thresholds']): Decision {
  if (score >= thresholds.block) return 'block';
  if (score >= thresholds.review) return 'review';
  return 'allow';
}

/** The model's raw inputs, in its order, read by name. @throws RangeError on a missing/non-finite feature */
export function modelInputs(model: RiskModel, features: Readonly<Record<string, number>>): number[] {
  return model.featureNames.map((name) => {
    const v = features[name];
    if (v === undefined || !Number.isFinite(v))
      throw new RangeError(`feature ${name} is missing or not finite`);
    return v;
  });
}

/**
 * Scratch for score's running top list (feature index, contribution, standardised and raw value
 * per place), grown to the largest list asked for. Why: a candidate object per positive
 * contribution (its three doubles boxed) and splice's returned array were ~1.2 KB of garbage per
 * payment. Safe as scratch: score reads it back before it returns and calls nothing meanwhile.
 */
let topJ = new Int32Array(16);
let topC = new Float64Array(16);
let topZ = new Float64Array(16);
let topRaw = new Float64Array(16);

function topCapacity(n: number): void {
  if (topJ.length >= n) return;
  topJ = new Int32Array(n);
  topC = new Float64Array(n);
  topZ = new Float64Array(n);
  topRaw = new Float64Array(n);
}

/**
 * Scores one event's features (read by name, so a model trained on a prefix of FEATURE_NAMES keeps
 * working after features are appended).
 *
 * One pass over the model's features, with the arithmetic of {@link modelInputs},
 * {@link standardise} and the logit sum in the same order (so the score is bit-identical to
 * composing them), and the reasons picked by insertion into a list of at most `maxReasons`
 * instead of sorting every contribution: this runs once per payment.
 */
export function score(
  model: RiskModel,
  features: Readonly<Record<string, number>>,
  maxReasons = 3,
): RiskScore {
  const names = model.featureNames;
  // at most maxReasons places (a fraction rounds down); NaN or beyond the features: all of them
  const limit = maxReasons < names.length ? Math.max(0, Math.floor(maxReasons)) : names.length;
  topCapacity(limit);
  let logit = model.intercept;
  // Best positive contributions so far, by contribution descending, ties by feature index.
  let n = 0;
  for (let j = 0; j < names.length; j++) {
    const name = names[j] as string;
    const raw = features[name];
    if (raw === undefined || !Number.isFinite(raw)) throw new RangeError(`feature ${name} is missing or not finite`);
    const v = (applyTransform(model.transforms[j] ?? 'none', raw) - (model.means[j] as number)) / (model.stds[j] as number);
    const zv = Math.max(-Z_CLIP, Math.min(Z_CLIP, v));
    const c = (model.weights[j] as number) * zv;
    logit += c;
    if (!(c > 0) || limit === 0) continue;
    if (n === limit && c <= (topC[n - 1] as number)) continue;
    // a full list drops its last (smallest) place; a later equal contribution goes after
    let at = n < limit ? n++ : n - 1;
    for (; at > 0 && c > (topC[at - 1] as number); at--) {
      topJ[at] = topJ[at - 1] as number;
      topC[at] = topC[at - 1] as number;
      topZ[at] = topZ[at - 1] as number;
      topRaw[at] = topRaw[at - 1] as number;
    }
    topJ[at] = j;
    topC[at] = c;
    topZ[at] = zv;
    topRaw[at] = raw;
  }
  const s = sigmoid(logit);
  const reasons: Reason[] = [];
  for (let k = 0; k < n; k++) {
    const feature = names[topJ[k] as number] as string;
    reasons.push({ code: cachedReasonCode(feature, topZ[k] as number), feature, value: topRaw[k] as number, contribution: topC[k] as number });
  }
  return { score: s, decision: decide(s, model.thresholds), reasons, modelVersion: model.version };
}
