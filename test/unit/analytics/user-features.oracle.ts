/**
 * Brute-force oracle for user features: recomputes every event's features from the full list of
 * events in arrival order, with none of the state machinery (no pruning, no hashing, no Welford).
 * Independent restatement of the definitions in src/analytics/user-features.ts; exact whenever
 * events are no later than the allowed lateness, no user exceeds the recent-event cap, and no
 * user uses more devices/countries than the seen-set sizes (the oracle never forgets).
 * Usable by end-to-end tests: pass one user's accepted events in processing order.
 */
import type { GraphContext, UserEvent, UserFeatures } from '../../../src/analytics/user-features.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Features of each event of ONE user, given that user's events in processing order. */
export function recomputeUserFeaturesBruteForce(
  events: readonly UserEvent[],
  opts: {
    zscoreMinHistory?: number;
    zscoreClip?: number;
    graph?: (i: number) => GraphContext | undefined;
  } = {},
): UserFeatures[] {
  const minHistory = opts.zscoreMinHistory ?? 3;
  const clip = opts.zscoreClip ?? 20;
  return events.map((e, i) => {
    const t = e.ts_ms;
    const seen = events.slice(0, i + 1);
    const inWin = (w: number) => seen.filter((x) => x.ts_ms > t - w && x.ts_ms <= t);
    const h1 = inWin(HOUR);
    const d1 = inWin(DAY);
    const sumCents = (xs: readonly UserEvent[]) =>
      xs.reduce((a, x) => a + Math.round(Math.abs(x.amount) * 10_000), 0) / 10_000;
    const distinct = (xs: readonly UserEvent[], f: (x: UserEvent) => string | undefined) =>
      new Set(xs.map(f).filter((v) => v !== undefined)).size;

    const ordered = seen.map((x, j) => ({ x, j })).sort((a, b) => a.x.ts_ms - b.x.ts_ms || a.j - b.j);
    let streak = 0;
    for (let k = ordered.findIndex((o) => o.j === i); k >= 0; k--) {
      const o = ordered[k]!;
      if (o.x.ts_ms <= t - DAY || o.x.status !== 'failed') break;
      streak++;
    }
    const earlier = events.slice(0, i);
    const isNew = (f: (x: UserEvent) => string | undefined) =>
      f(e) === undefined ? 0 : earlier.some((x) => f(x) === f(e) && x.ts_ms < t) ? 0 : 1;

    const amounts = earlier.map((x) => Math.abs(x.amount));
    let z = 0;
    if (amounts.length >= Math.max(2, minHistory)) {
      const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
      const variance = amounts.reduce((a, b) => a + (b - mean) ** 2, 0) / (amounts.length - 1);
      z = Math.max(-clip, Math.min(clip, (Math.abs(e.amount) - mean) / Math.max(Math.sqrt(variance), 1)));
    }
    const g = opts.graph?.(i);
    return {
      velocity_1h_count: h1.length,
      velocity_1h_amount: sumCents(h1),
      velocity_24h_count: d1.length,
      velocity_24h_amount: sumCents(d1),
      failed_1h_count: h1.filter((x) => x.status === 'failed').length,
      distinct_devices_24h: distinct(d1, (x) => x.device_id),
      distinct_merchants_24h: distinct(d1, (x) => x.merchant_id),
      distinct_countries_24h: distinct(d1, (x) => x.country),
      new_device: isNew((x) => x.device_id),
      new_country: isNew((x) => x.country),
      amount: Math.abs(e.amount),
      amount_zscore: z,
      failure_streak: streak,
      graph_ring_score: g?.ringScore ?? 0,
      graph_component_size: g?.componentSize ?? 1,
      established_new_device_and_country:
        isNew((x) => x.device_id) * isNew((x) => x.country) * (earlier.length >= minHistory ? 1 : 0),
    };
  });
}
