/**
 * Merchant rolling statistics (PRODUCT §3): failure rate over a rolling event-time hour and since
 * start, hourly volume anomaly against the merchant's own history, and alert decisions.
 *
 * Failure rate uses 60 one-minute buckets: the rolling hour at event time T is the 60 minutes
 * [minute(T) − 59 min, minute(T) + 1 min), evaluated at T = the merchant's latest event time, so
 * a burst is visible as soon as it happens (not 20 minutes later at the watermark). Minute
 * granularity is the price of O(1) state; a bucket older than the rolling hour of the latest
 * event can never be read again, so it is dropped at once.
 *
 * Volume anomaly works on closed hours (closed when the watermark passes their end): the hour's
 * event count x is compared with an exponentially weighted mean μ and variance σ² of the previous
 * hours, z = (x − μ) / √max(σ², μ, 1) (the Poisson floor max(σ², μ) keeps a steady low-volume
 * merchant from alerting on noise), THEN x is folded in. Hours without events count as 0, so a
 * merchant going silent is a drop.
 *
 * State is plain JSON, mutated in place; functions validate before mutating.
 */

/** Options; see {@link resolveMerchantStatsConfig} for defaults. */
export interface MerchantStatsConfig {
  /** Failure share (0–1) over the rolling hour that raises `failure_rate_high`. */
  readonly failureRateThreshold: number;
  /** The alert clears when the share falls below this (hysteresis: no flapping alerts). */
  readonly failureRateClearBelow: number;
  /** No failure-rate alert unless the rolling hour holds at least this many events. */
  readonly failureRateMinVolume: number;
  /** Half-life, in hours, of the exponentially weighted volume history. */
  readonly volumeHalfLifeHours: number;
  /** |z| at or above which a closed hour is a volume anomaly. */
  readonly volumeZThreshold: number;
  /** No volume alert until this many hours of history exist. */
  readonly volumeMinHistoryHours: number;
  /** No volume alert unless the hour or the expected volume is at least this many events. */
  readonly volumeMinEvents: number;
  /** Longest run of empty hours folded in one go; longer gaps restart nothing but stop folding. */
  readonly maxGapHours: number;
}

const DEFAULTS: MerchantStatsConfig = {
  failureRateThreshold: 0.3,
  failureRateClearBelow: 0.2,
  failureRateMinVolume: 20,
  volumeHalfLifeHours: 72,
  volumeZThreshold: 4,
  volumeMinHistoryHours: 24,
  volumeMinEvents: 20,
  maxGapHours: 168,
};

/** Validated, frozen options with defaults filled in. */
export function resolveMerchantStatsConfig(opts: Partial<MerchantStatsConfig> = {}): MerchantStatsConfig {
  const c = { ...DEFAULTS, ...opts };
  const inUnit = (v: number) => v >= 0 && v <= 1;
  if (!inUnit(c.failureRateThreshold) || !inUnit(c.failureRateClearBelow)) {
    throw new RangeError('failure-rate thresholds must be within [0, 1]');
  }
  if (c.failureRateClearBelow > c.failureRateThreshold) {
    throw new RangeError('failureRateClearBelow must not exceed failureRateThreshold');
  }
  for (const k of ['volumeHalfLifeHours', 'volumeZThreshold', 'maxGapHours'] as const) {
    if (!(c[k] > 0)) throw new RangeError(`${k} must be positive`);
  }
  return Object.freeze(c);
}

/** Per-merchant state. */
export interface MerchantStatsState {
  v: 1;
  total: number;
  failed: number;
  /** Latest event time seen; the rolling hour ends at its minute. */
  maxTs: number | null;
  /** minuteStart → [events, failed]; only minutes inside the rolling hour of maxTs. */
  minutes: Record<string, [number, number]>;
  /** Running [events, failed] over `minutes` (so reading the rolling hour is O(1)). */
  hour: [number, number];
  /** Start of the rolling hour at the last prune; buckets before it are gone. */
  minutesFrom: number | null;
  /** hourStart → events, for hours not yet closed. */
  openHours: Record<string, number>;
  /** End of the last closed hour (null before the first close). */
  closedThrough: number | null;
  volume: { hours: number; mean: number; variance: number };
  failureAlertActive: boolean;
}

/** An alert decision, returned as data for the actor to publish. */
export interface MerchantAlert {
  type: 'failure_rate_high' | 'failure_rate_recovered' | 'volume_spike' | 'volume_drop';
  /** Event time the decision refers to (rolling-hour end, or the closed hour's start). */
  at: number;
  value: number;
  threshold: number;
  volume: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A new, empty state. */
export function emptyMerchantStats(): MerchantStatsState {
  return {
    v: 1,
    total: 0,
    failed: 0,
    maxTs: null,
    minutes: {},
    hour: [0, 0],
    minutesFrom: null,
    openHours: {},
    closedThrough: null,
    volume: { hours: 0, mean: 0, variance: 0 },
    failureAlertActive: false,
  };
}

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/** Events and failures over the rolling hour ending at the merchant's latest event. O(1). */
export function rollingHour(state: MerchantStatsState): {
  total: number;
  failed: number;
  failureRate: number;
} {
  const [total, failed] = state.hour;
  return { total, failed, failureRate: total === 0 ? 0 : failed / total };
}

/** Drops buckets that left the rolling hour; only iterates when the hour actually moved. */
function pruneMinutes(state: MerchantStatsState, from: number): void {
  if (state.minutesFrom === from) return;
  state.minutesFrom = from;
  // for…in, not Object.entries: this runs whenever the latest event enters a new minute, which
  // on a sparse stream is nearly every event, and the entry arrays were pure garbage.
  for (const k in state.minutes) {
    if (Number(k) >= from) continue;
    const [n, f] = state.minutes[k] as [number, number];
    state.hour[0] -= n;
    state.hour[1] -= f;
    delete state.minutes[k];
  }
}

/** States persisted before `hour`/`minutesFrom` existed (same v: 1): rebuild the running totals. */
function upgrade(state: MerchantStatsState): void {
  if (Array.isArray(state.hour)) return;
  const hour: [number, number] = [0, 0];
  for (const [n, f] of Object.values(state.minutes)) {
    hour[0] += n;
    hour[1] += f;
  }
  state.hour = hour;
  state.minutesFrom = null;
}

function failureAlerts(state: MerchantStatsState, cfg: MerchantStatsConfig): MerchantAlert[] {
  const h = rollingHour(state);
  const at = floorTo(state.maxTs ?? 0, MINUTE) + MINUTE;
  const base = { at, value: h.failureRate, volume: h.total };
  if (
    !state.failureAlertActive &&
    h.total >= cfg.failureRateMinVolume &&
    h.failureRate >= cfg.failureRateThreshold
  ) {
    state.failureAlertActive = true;
    return [{ type: 'failure_rate_high', threshold: cfg.failureRateThreshold, ...base }];
  }
  if (state.failureAlertActive && h.failureRate < cfg.failureRateClearBelow) {
    state.failureAlertActive = false;
    return [{ type: 'failure_rate_recovered', threshold: cfg.failureRateClearBelow, ...base }];
  }
  return [];
}

/**
 * Counts one (deduplicated) event. An event whose hour is already closed is refused as late
 * (it would change a closed hour's volume). Returns failure-rate alert transitions.
 */
export function addMerchantEvent(
  state: MerchantStatsState,
  ev: { readonly ts_ms: number; readonly status: string },
  cfg: MerchantStatsConfig,
): { accepted: boolean; alerts: MerchantAlert[] } {
  if (!Number.isSafeInteger(ev.ts_ms)) throw new RangeError(`ts_ms must be an integer, got ${ev.ts_ms}`);
  const hour = floorTo(ev.ts_ms, HOUR);
  if (state.closedThrough !== null && hour < state.closedThrough) return { accepted: false, alerts: [] };
  upgrade(state);
  const isFailed = ev.status === 'failed' ? 1 : 0;
  state.total += 1;
  state.failed += isFailed;
  state.maxTs = state.maxTs === null ? ev.ts_ms : Math.max(state.maxTs, ev.ts_ms);
  const from = floorTo(state.maxTs, MINUTE) - 59 * MINUTE;
  const minute = floorTo(ev.ts_ms, MINUTE);
  // An event older than the rolling hour of the latest event can never be read from a bucket:
  // it counts in the totals and its hour's volume only.
  if (minute >= from) {
    const bucket = state.minutes[String(minute)] ?? [0, 0];
    bucket[0] += 1;
    bucket[1] += isFailed;
    state.minutes[String(minute)] = bucket;
    state.hour[0] += 1;
    state.hour[1] += isFailed;
  }
  pruneMinutes(state, from);
  state.openHours[String(hour)] = (state.openHours[String(hour)] ?? 0) + 1;
  return { accepted: true, alerts: failureAlerts(state, cfg) };
}

/** Exponentially weighted update (West 1979): z is computed by the caller before this. */
function foldHour(state: MerchantStatsState, x: number, alpha: number): void {
  const v = state.volume;
  if (v.hours === 0) {
    v.mean = x;
    v.variance = 0;
  } else {
    const diff = x - v.mean;
    const incr = alpha * diff;
    v.mean += incr;
    v.variance = (1 - alpha) * (v.variance + diff * incr);
  }
  v.hours += 1;
}

/** z-score of an hourly count against the current history (before folding it in). */
export function volumeZ(state: MerchantStatsState, x: number): number {
  const v = state.volume;
  return (x - v.mean) / Math.sqrt(Math.max(v.variance, v.mean, 1));
}

/**
 * Closes every hour whose end is ≤ watermark: scores it against the history, folds it in, and
 * returns volume alerts (ordered by hour). Idempotent for a repeated or older watermark.
 */
export function closeMerchantHours(
  state: MerchantStatsState,
  watermark: number,
  cfg: MerchantStatsConfig,
): MerchantAlert[] {
  if (!Number.isFinite(watermark)) throw new RangeError(`watermark must be finite, got ${watermark}`);
  const openStarts = Object.keys(state.openHours).map(Number);
  const start = state.closedThrough ?? (openStarts.length ? Math.min(...openStarts) : null);
  if (start === null) return [];
  let from = start;
  const until = floorTo(watermark, HOUR); // hours starting before this are closed
  if (until <= from) return [];
  // A gap longer than maxGapHours is skipped rather than folded hour by hour: bounded work.
  const emptyLead = Math.min(...openStarts.filter((h) => h >= from), until);
  if ((emptyLead - from) / HOUR > cfg.maxGapHours) from = emptyLead - cfg.maxGapHours * HOUR;
  const alpha = 1 - 2 ** (-1 / cfg.volumeHalfLifeHours);
  const alerts: MerchantAlert[] = [];
  for (let h = from; h < until; h += HOUR) {
    const x = state.openHours[String(h)] ?? 0;
    delete state.openHours[String(h)];
    const z = volumeZ(state, x);
    const enoughHistory = state.volume.hours >= cfg.volumeMinHistoryHours;
    const enoughVolume = Math.max(x, state.volume.mean) >= cfg.volumeMinEvents;
    if (enoughHistory && enoughVolume && Math.abs(z) >= cfg.volumeZThreshold) {
      const type = z > 0 ? 'volume_spike' : 'volume_drop';
      alerts.push({ type, at: h, value: z, threshold: cfg.volumeZThreshold, volume: x });
    }
    foldHour(state, x, alpha);
  }
  state.closedThrough = until;
  return alerts;
}

/** Read model for the lookup API. */
export interface MerchantStatsView {
  total: number;
  failed: number;
  failureRateSinceStart: number;
  hour: { total: number; failed: number; failureRate: number; endsAt: number | null };
  volume: { hoursOfHistory: number; expectedPerHour: number; stdPerHour: number };
  failureAlertActive: boolean;
}

/** A snapshot of the statistics. */
export function merchantStatsView(state: MerchantStatsState): MerchantStatsView {
  return {
    total: state.total,
    failed: state.failed,
    failureRateSinceStart: state.total === 0 ? 0 : state.failed / state.total,
    hour: {
      ...rollingHour(state),
      endsAt: state.maxTs === null ? null : floorTo(state.maxTs, MINUTE) + MINUTE,
    },
    volume: {
      hoursOfHistory: state.volume.hours,
      expectedPerHour: state.volume.mean,
      stdPerHour: Math.sqrt(state.volume.variance),
    },
    failureAlertActive: state.failureAlertActive,
  };
}
