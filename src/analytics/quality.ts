/**
 * Data-quality expectations and a 0–100 quality score per layer (PRODUCT §5; the seed used Great
 * Expectations). One pass over the rows, every expectation evaluated together.
 *
 * Semantics follow Great Expectations where it has them: value expectations (between, in_set,
 * matches) ignore null/undefined values (not_null exists for those); `mostly` is the share of
 * evaluated values that must conform for the expectation to pass.
 * Score = 100 · Σ weight · credit / Σ weight with credit = min(1, successRate / mostly): a 0.1%
 * problem costs about 0.1% of its weight, not the whole expectation, and an expectation that meets
 * its `mostly` costs nothing (missing device ids within tolerance are not a quality problem).
 * The report `passed` is score ≥ alertBelow (default 80).
 */

/** One expectation. */
export type Expectation =
  | { readonly type: 'not_null'; readonly column: string }
  | { readonly type: 'between'; readonly column: string; readonly min?: number; readonly max?: number }
  | { readonly type: 'in_set'; readonly column: string; readonly values: readonly (string | number)[] }
  | { readonly type: 'matches'; readonly column: string; readonly pattern: string }
  | { readonly type: 'unique'; readonly column: string }
  | { readonly type: 'row_count_between'; readonly min: number; readonly max?: number }
  | {
      readonly type: 'not_older_than';
      readonly column: string;
      readonly maxAgeMs: number;
      readonly asOfMs: number;
    };

/** An expectation with its name, weight (default 1) and `mostly` (default 1). */
export interface ExpectationSpec {
  readonly name: string;
  readonly expectation: Expectation;
  readonly weight?: number;
  readonly mostly?: number;
}

/** Outcome of one expectation. */
export interface ExpectationResult {
  name: string;
  type: Expectation['type'];
  column: string | null;
  evaluated: number;
  unexpected: number;
  successRate: number;
  /** min(1, successRate / mostly): what the expectation contributes to the score. */
  credit: number;
  passed: boolean;
  weight: number;
  /** Up to five offending values, for the report. */
  sampleUnexpected: unknown[];
}

/** Outcome of a suite on one layer. */
export interface QualityReport {
  layer: string;
  rows: number;
  score: number;
  alertBelow: number;
  passed: boolean;
  results: ExpectationResult[];
}

const isNull = (v: unknown) => v === null || v === undefined;

/** Per-row check: true = conforms, false = unexpected, null = not evaluated (null value). */
function checker(e: Expectation): ((v: unknown) => boolean | null) | null {
  switch (e.type) {
    case 'not_null':
      return (v) => !isNull(v);
    case 'between':
      return (v) =>
        isNull(v)
          ? null
          : typeof v === 'number' &&
            Number.isFinite(v) &&
            (e.min === undefined || v >= e.min) &&
            (e.max === undefined || v <= e.max);
    case 'in_set': {
      const set = new Set<unknown>(e.values);
      return (v) => (isNull(v) ? null : set.has(v));
    }
    case 'matches': {
      const re = new RegExp(e.pattern);
      return (v) => (isNull(v) ? null : typeof v === 'string' && re.test(v));
    }
    case 'unique': {
      const seen = new Set<unknown>();
      return (v) => {
        if (isNull(v)) return null;
        if (seen.has(v)) return false;
        seen.add(v);
        return true;
      };
    }
    case 'not_older_than':
      return (v) => (isNull(v) ? null : typeof v === 'number' && v >= e.asOfMs - e.maxAgeMs);
    case 'row_count_between':
      return null; // a table-level expectation, decided after the pass
  }
}

/**
 * Evaluates `specs` over `rows` (any iterable: a batch is streamed once) and scores the layer.
 * @throws RangeError on a spec with a non-positive weight or `mostly` outside (0, 1]
 */
export function evaluateQuality(
  layer: string,
  rows: Iterable<Readonly<Record<string, unknown>>>,
  specs: readonly ExpectationSpec[],
  opts: { alertBelow?: number } = {},
): QualityReport {
  for (const s of specs) {
    if ((s.weight ?? 1) <= 0) throw new RangeError(`${s.name}: weight must be positive`);
    const mostly = s.mostly ?? 1;
    if (!(mostly > 0 && mostly <= 1)) throw new RangeError(`${s.name}: mostly must be in (0, 1]`);
  }
  const state = specs.map((s) => ({
    check: checker(s.expectation),
    evaluated: 0,
    unexpected: 0,
    sample: [] as unknown[],
  }));
  let count = 0;
  for (const row of rows) {
    count++;
    specs.forEach((s, i) => {
      const st = state[i] as (typeof state)[number];
      if (st.check === null || s.expectation.type === 'row_count_between') return;
      const v = row[s.expectation.column];
      const ok = st.check(v);
      if (ok === null) return;
      st.evaluated++;
      if (!ok) {
        st.unexpected++;
        if (st.sample.length < 5) st.sample.push(v);
      }
    });
  }
  const results = specs.map((s, i): ExpectationResult => {
    const st = state[i] as (typeof state)[number];
    const e = s.expectation;
    let successRate: number;
    if (e.type === 'row_count_between') {
      st.evaluated = 1;
      st.unexpected = count >= e.min && (e.max === undefined || count <= e.max) ? 0 : 1;
      if (st.unexpected) st.sample.push(count);
    }
    successRate = st.evaluated === 0 ? 1 : 1 - st.unexpected / st.evaluated;
    successRate = Math.max(0, Math.min(1, successRate));
    return {
      name: s.name,
      type: e.type,
      column: 'column' in e ? e.column : null,
      evaluated: st.evaluated,
      unexpected: st.unexpected,
      successRate,
      credit: Math.min(1, successRate / (s.mostly ?? 1)),
      passed: successRate >= (s.mostly ?? 1),
      weight: s.weight ?? 1,
      sampleUnexpected: st.sample,
    };
  });
  const totalWeight = results.reduce((a, r) => a + r.weight, 0);
  const raw =
    totalWeight === 0 ? 100 : (100 * results.reduce((a, r) => a + r.weight * r.credit, 0)) / totalWeight;
  const score = Math.round(raw * 10) / 10;
  const alertBelow = opts.alertBelow ?? 80;
  return { layer, rows: count, score, alertBelow, passed: score >= alertBelow, results };
}

/** The bronze payment-event suite (PRODUCT §2 contract, after cleansing). */
export const BRONZE_PAYMENT_EXPECTATIONS: readonly ExpectationSpec[] = Object.freeze([
  { name: 'event_id present', expectation: { type: 'not_null', column: 'event_id' }, weight: 3 },
  { name: 'event_id unique', expectation: { type: 'unique', column: 'event_id' }, weight: 3 },
  { name: 'user_id present', expectation: { type: 'not_null', column: 'user_id' }, weight: 2 },
  { name: 'merchant_id present', expectation: { type: 'not_null', column: 'merchant_id' }, weight: 2 },
  { name: 'ts_ms present', expectation: { type: 'not_null', column: 'ts_ms' }, weight: 2 },
  {
    name: 'amount in [0, 1e9]',
    expectation: { type: 'between', column: 'amount', min: 0, max: 1e9 },
    weight: 2,
  },
  {
    name: 'status known',
    expectation: {
      type: 'in_set',
      column: 'status',
      values: ['authorized', 'captured', 'refunded', 'failed'],
    },
    weight: 2,
  },
  {
    name: 'currency is ISO 4217 shaped',
    expectation: { type: 'matches', column: 'currency', pattern: '^[A-Z]{3}$' },
  },
  {
    name: 'country is ISO 3166 shaped',
    expectation: { type: 'matches', column: 'country', pattern: '^[A-Z]{2}$' },
  },
  { name: 'device_id mostly present', expectation: { type: 'not_null', column: 'device_id' }, mostly: 0.5 },
]);

/**
 * The curated payments (src/batch/curate.ts): once per event id, and joined with the dimension
 * tables. A missing dimension row is a finding of the master data, tolerated up to 1%.
 */
export const CURATED_PAYMENT_EXPECTATIONS: readonly ExpectationSpec[] = Object.freeze([
  { name: 'event_id unique', expectation: { type: 'unique', column: 'event_id' }, weight: 3 },
  { name: 'event_id present', expectation: { type: 'not_null', column: 'event_id' }, weight: 2 },
  { name: 'merchant dimension matched', expectation: { type: 'not_null', column: 'merchant_category' }, weight: 2, mostly: 0.99 },
  { name: 'user dimension matched', expectation: { type: 'not_null', column: 'user_home_country' }, weight: 2, mostly: 0.99 },
  { name: 'FX rate matched', expectation: { type: 'not_null', column: 'amount_usd' }, weight: 2, mostly: 0.999 },
  { name: 'amount_usd in [0, 1e9]', expectation: { type: 'between', column: 'amount_usd', min: 0, max: 1e9 } },
  { name: 'rolling_amount_usd not negative', expectation: { type: 'between', column: 'rolling_amount_usd', min: 0 } },
  { name: 'risk_bucket known', expectation: { type: 'in_set', column: 'risk_bucket', values: ['risk_low', 'risk_med', 'risk_high'] } },
]);
