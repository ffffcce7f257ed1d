/**
 * Brute-force oracle of the payments pipeline (PRODUCT §3), restated from the definitions with
 * none of the runtime's machinery: no panes, no sketches, no timers, no Welford, no hashing.
 * Its input is what Kafka really holds (records read back per partition in offset order), so
 * lateness follows each partition's own history, exactly as a worker sees it.
 *
 * - Partition pass (payments.events): watermark = max event time of the accepted events so far −
 *   allowed lateness; a record with ts < watermark is late (checked before dedup); a repeated
 *   event_id is a duplicate; everything else is accepted.
 * - Windows [s, s + W) for every slide multiple s, per merchant and status, over the accepted
 *   events; a window is final when its end ≤ its partition's final watermark.
 * - User features, per user, over the user's accepted events in the order the user worker
 *   processed them (payments.events.by-user, first occurrence of each event_id).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The event fields the oracle reads (an IngestedEvent as decoded from the wire). */
export interface OracleEvent {
  readonly event_id: string;
  readonly ts_ms: number;
  readonly user_id: string;
  readonly merchant_id: string;
  readonly amount: number;
  readonly status: string;
  readonly device_id?: string;
  readonly country?: string;
}

/** A record read back from Kafka. */
export interface Placed<E = OracleEvent> {
  readonly partition: number;
  readonly offset: number;
  readonly event: E;
}

export interface PartitionPass {
  readonly accepted: Placed[];
  /** `partition:offset` of every late record. */
  readonly late: Set<string>;
  readonly lateEventIds: Set<string>;
  duplicates: number;
  /** Final watermark per partition (partitions with accepted events only). */
  readonly watermarks: Map<number, number>;
}

/** Replays each partition in offset order. `byPartition` lists must be sorted by offset. */
export function partitionPass(byPartition: ReadonlyMap<number, readonly Placed[]>, latenessMs: number): PartitionPass {
  const pass: PartitionPass = { accepted: [], late: new Set(), lateEventIds: new Set(), duplicates: 0, watermarks: new Map() };
  for (const [partition, records] of byPartition) {
    let maxTs = Number.NEGATIVE_INFINITY;
    const seen = new Set<string>();
    for (const r of records) {
      const wm = maxTs - latenessMs;
      if (r.event.ts_ms < wm) {
        pass.late.add(`${partition}:${r.offset}`);
        pass.lateEventIds.add(r.event.event_id);
      } else if (seen.has(r.event.event_id)) {
        pass.duplicates += 1;
      } else {
        seen.add(r.event.event_id);
        pass.accepted.push(r);
        maxTs = Math.max(maxTs, r.event.ts_ms);
      }
    }
    if (maxTs > Number.NEGATIVE_INFINITY) pass.watermarks.set(partition, maxTs - latenessMs);
  }
  return pass;
}

export interface ExpectedWindow {
  readonly merchant_id: string;
  readonly window_start: number;
  readonly status: string;
  cnt: number;
  /** Sum in 1/10,000 units, exact. */
  sumUnits: number;
  readonly users: Set<string>;
}

export const windowKey = (merchant: string, start: number, status: string): string => `${merchant}|${start}|${status}`;

/** Every final window with data, by {@link windowKey}. `finalWatermark` is per partition. */
export function expectedWindows(
  accepted: readonly Placed[],
  finalWatermark: (partition: number) => number,
  windowMs = 300_000,
  slideMs = 60_000,
): Map<string, ExpectedWindow> {
  const out = new Map<string, ExpectedWindow>();
  for (const { partition, event: e } of accepted) {
    const wm = finalWatermark(partition);
    // every s = k·slide with s ≤ ts < s + W
    for (let s = Math.floor(e.ts_ms / slideMs) * slideMs; s > e.ts_ms - windowMs; s -= slideMs) {
      if (s + windowMs > wm) continue;
      const key = windowKey(e.merchant_id, s, e.status);
      let w = out.get(key);
      if (!w) {
        w = { merchant_id: e.merchant_id, window_start: s, status: e.status, cnt: 0, sumUnits: 0, users: new Set() };
        out.set(key, w);
      }
      w.cnt += 1;
      w.sumUnits += Math.round(Math.abs(e.amount) * 10_000) * Math.sign(e.amount);
      w.users.add(e.user_id);
    }
  }
  return out;
}

/** User feature definitions' parameters (src/analytics/user-features.ts defaults). */
export interface UserOracleOptions {
  readonly latenessMs: number;
  /** Entries kept per user; beyond it the oldest are forgotten by design. */
  readonly maxRecentEvents: number;
  readonly zscoreMinHistory: number;
  readonly zscoreClip: number;
}

export const USER_DEFAULTS: Omit<UserOracleOptions, 'latenessMs'> = { maxRecentEvents: 512, zscoreMinHistory: 3, zscoreClip: 20 };

export type Features = Record<string, number>;

const units = (amount: number): number => Math.round(Math.abs(amount) * 10_000);

/**
 * Features of each event of ONE user, given the user's events in processing order. Windows are
 * brute-force scans over the events the state still remembers by its documented retention: an
 * event is forgotten once it is ≤ (max ts processed) − 24 h − lateness, or when more than
 * `maxRecentEvents` newer ones are remembered (oldest first). Novelty and z-score look at every
 * earlier event (their memory is not bounded by the window).
 */
export function userFeatures(events: readonly OracleEvent[], o: UserOracleOptions): Features[] {
  let remembered: { e: OracleEvent; i: number }[] = [];
  let maxTs = Number.NEGATIVE_INFINITY;
  return events.map((e, i) => {
    const t = e.ts_ms;
    const visible = [...remembered, { e, i }].filter((x) => x.e.ts_ms <= t).sort((a, b) => a.e.ts_ms - b.e.ts_ms || a.i - b.i);
    const inLast = (w: number) => visible.filter((x) => x.e.ts_ms > t - w).map((x) => x.e);
    const h1 = inLast(HOUR);
    const d1 = inLast(DAY);
    const distinct = (xs: readonly OracleEvent[], f: (x: OracleEvent) => string | undefined) =>
      new Set(xs.map(f).filter((v) => v !== undefined)).size;
    let streak = 0;
    for (let k = visible.length - 1; k >= 0 && visible[k]!.e.ts_ms > t - DAY && visible[k]!.e.status === 'failed'; k--) streak++;
    const earlier = events.slice(0, i);
    const isNew = (f: (x: OracleEvent) => string | undefined): number => {
      const v = f(e);
      return v === undefined || earlier.some((x) => f(x) === v && x.ts_ms < t) ? 0 : 1;
    };
    const newDevice = isNew((x) => x.device_id);
    const newCountry = isNew((x) => x.country);
    const features: Features = {
      velocity_1h_count: h1.length,
      velocity_1h_amount: h1.reduce((a, x) => a + units(x.amount), 0) / 10_000,
      velocity_24h_count: d1.length,
      velocity_24h_amount: d1.reduce((a, x) => a + units(x.amount), 0) / 10_000,
      failed_1h_count: h1.filter((x) => x.status === 'failed').length,
      distinct_devices_24h: distinct(d1, (x) => x.device_id),
      distinct_merchants_24h: distinct(d1, (x) => x.merchant_id),
      distinct_countries_24h: distinct(d1, (x) => x.country),
      new_device: newDevice,
      new_country: newCountry,
      amount: Math.abs(e.amount),
      amount_zscore: zscore(earlier.map((x) => Math.abs(x.amount)), Math.abs(e.amount), o),
      failure_streak: streak,
      graph_ring_score: 0,
      graph_component_size: 1,
      established_new_device_and_country: newDevice * newCountry * (earlier.length >= o.zscoreMinHistory ? 1 : 0),
    };
    maxTs = Math.max(maxTs, t);
    remembered.push({ e, i });
    remembered = remembered
      .filter((x) => x.e.ts_ms > maxTs - DAY - o.latenessMs)
      .sort((a, b) => a.e.ts_ms - b.e.ts_ms || a.i - b.i)
      .slice(-o.maxRecentEvents);
    return features;
  });
}

/** Two-pass mean and sample standard deviation of the earlier amounts; std floored at 1. */
function zscore(earlier: readonly number[], amount: number, o: UserOracleOptions): number {
  if (earlier.length < Math.max(2, o.zscoreMinHistory)) return 0;
  const mean = earlier.reduce((a, b) => a + b, 0) / earlier.length;
  const variance = earlier.reduce((a, b) => a + (b - mean) ** 2, 0) / (earlier.length - 1);
  return Math.max(-o.zscoreClip, Math.min(o.zscoreClip, (amount - mean) / Math.max(Math.sqrt(variance), 1)));
}

/** Feature names compared with a tolerance (floating-point order of operations differs). */
const APPROXIMATE = new Set(['amount_zscore']);

/** Names of the features that differ (exact, except z-scores within 1e-9 relative). */
export function featureDiff(got: Readonly<Record<string, number>>, want: Features): string[] {
  const names = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...names].filter((n) => {
    const g = got[n];
    const w = want[n];
    if (g === undefined || w === undefined) return true;
    if (APPROXIMATE.has(n)) return Math.abs(g - w) > 1e-9 * Math.max(1, Math.abs(w));
    return g !== w;
  });
}
