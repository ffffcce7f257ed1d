/**
 * Per-user risk features (PRODUCT §3), computed at each event from a compact, bounded state.
 *
 * Definitions (the brute-force oracle in test/unit/analytics/user-features.oracle.ts restates
 * them independently; keep the two in step):
 * - Windowed features at an event with time t use the user's retained events (this one included)
 *   with ts in (t − window, t]: velocity count/amount over 1 h and 24 h, failed count over 1 h,
 *   distinct devices / merchants / countries over 24 h. Out-of-order arrival is fine: a later
 *   event already processed is simply outside (t − window, t].
 * - failure_streak: consecutive `failed` events ending at this one (inclusive) in event-time order
 *   (ties: arrival order) among events of the last 24 h.
 * - new_device / new_country: 1 when the event has one and no earlier-processed event with a
 *   strictly earlier ts used it; memory keeps the last `maxSeenDevices` / `maxSeenCountries`
 *   values by last use, so a value unused for long enough is forgotten (and new again).
 * - amount_zscore: against the user's running (Welford) mean/std of amounts in processing order,
 *   computed BEFORE this amount is added; 0 until `zscoreMinHistory` amounts; std floored at 1
 *   currency unit so a user who always pays the same amount does not divide by zero; clipped.
 * - graph_*: passed in from the last graph rebuild (defaults: ring 0, component of size 1).
 * - established_new_device_and_country: new_device AND new_country for a user with at least
 *   `zscoreMinHistory` earlier events. The account-takeover signature (PRODUCT §7) is this
 *   conjunction, which a linear model cannot form from the two flags: every user's first event is
 *   new on both counts too, and must not look like a takeover.
 * Exactness: windowed features are exact for events no older than maxTs − allowed lateness while a
 * user has at most `maxRecentEvents` events in the horizon; beyond that the oldest are dropped
 * (counts become lower bounds). Ids in the recent list are 32-bit hashes: distinct counts are
 * exact up to hash collisions (≈ k²/2^33, below 10^-6 for k = 100).
 *
 * State (plain data, mutated in place; stored compactly by actors/user/user-state-codec.ts, whose
 * version 1 is this shape as JSON):
 *   { v: 1, maxTs, recent: [[ts, amountUnits, merchantHash, deviceHash | -1, country | "", failed 0|1], ...]
 *     (sorted by ts, ties in arrival order), devices: { id: [firstTs, lastTs] },
 *     countries: { code: [firstTs, lastTs] }, amounts: [n, mean, m2], dropped }
 */
import { murmur3 } from './hash.ts';
import { amountToUnits, unitsToAmount } from './money.ts';
import { IntIndex, StringIndex } from './scratch-index.ts';

/** Feature names, in the fixed order of {@link featureVector}. Append only: models depend on it. */
export const FEATURE_NAMES = [
  'velocity_1h_count',
  'velocity_1h_amount',
  'velocity_24h_count',
  'velocity_24h_amount',
  'failed_1h_count',
  'distinct_devices_24h',
  'distinct_merchants_24h',
  'distinct_countries_24h',
  'new_device',
  'new_country',
  'amount',
  'amount_zscore',
  'failure_streak',
  'graph_ring_score',
  'graph_component_size',
  'established_new_device_and_country',
] as const;
/** One feature name. */
export type FeatureName = (typeof FEATURE_NAMES)[number];
/** Features of one event, by name. */
export type UserFeatures = Record<FeatureName, number>;

/** Options; see {@link resolveUserFeatureConfig}. */
export interface UserFeatureConfig {
  /** Allowed lateness: events are kept for 24 h + this after the latest event. */
  readonly allowedLatenessMs: number;
  readonly maxRecentEvents: number;
  readonly maxSeenDevices: number;
  readonly maxSeenCountries: number;
  readonly zscoreMinHistory: number;
  readonly zscoreClip: number;
}

/** Validated, frozen options. */
export function resolveUserFeatureConfig(opts: Partial<UserFeatureConfig> = {}): UserFeatureConfig {
  const c: UserFeatureConfig = {
    allowedLatenessMs: 1_200_000,
    maxRecentEvents: 512,
    maxSeenDevices: 32,
    maxSeenCountries: 16,
    zscoreMinHistory: 3,
    zscoreClip: 20,
    ...opts,
  };
  for (const [k, v] of Object.entries(c)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a non-negative number, got ${v}`);
  }
  if (c.maxRecentEvents < 1) throw new RangeError('maxRecentEvents must be at least 1');
  return Object.freeze(c);
}

/** The event fields the features read. */
export interface UserEvent {
  readonly ts_ms: number;
  readonly amount: number;
  readonly merchant_id: string;
  readonly status: string;
  readonly device_id?: string | undefined;
  readonly country?: string | undefined;
}

/** Graph context from the last batch rebuild. */
export interface GraphContext {
  readonly ringScore: number;
  readonly componentSize: number;
}

/** [ts, amountUnits, merchantHash, deviceHash or -1, country or "", failed 0|1] */
export type RecentEntry = [number, number, number, number, string, 0 | 1];

/** Per-user state. */
export interface UserState {
  v: 1;
  maxTs: number | null;
  recent: RecentEntry[];
  devices: Record<string, [number, number]>;
  countries: Record<string, [number, number]>;
  /** Welford accumulator: [count, mean, sum of squared deviations]. */
  amounts: [number, number, number];
  /** Entries dropped by the size cap (not by age): > 0 means windowed counts may be low. */
  dropped: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A new, empty state. */
export function emptyUserState(): UserState {
  return { v: 1, maxTs: null, recent: [], devices: {}, countries: {}, amounts: [0, 0, 0], dropped: 0 };
}

/** Index after the last entry with ts ≤ t (entries are sorted by ts). Scans from the end: most events are the newest. */
function insertionPoint(recent: readonly RecentEntry[], t: number): number {
  let i = recent.length;
  while (i > 0 && (recent[i - 1] as RecentEntry)[0] > t) i--;
  return i;
}

function isNew(seen: Record<string, [number, number]>, key: string | undefined, t: number): number {
  if (key === undefined) return 0;
  const s = seen[key];
  return s === undefined || s[0] >= t ? 1 : 0;
}

/** Records a use, then evicts the least recently used entries beyond `max` (ties by key). */
function remember(
  seen: Record<string, [number, number]>,
  key: string | undefined,
  t: number,
  max: number,
): void {
  if (key === undefined) return;
  const s = seen[key];
  if (s !== undefined) {
    // known key: the set does not grow, nothing to evict (the common case: no key listing)
    if (t < s[0]) s[0] = t;
    if (t > s[1]) s[1] = t;
    return;
  }
  seen[key] = [t, t];
  const keys = Object.keys(seen);
  if (keys.length <= max) return;
  keys.sort(
    (a, b) => (seen[a] as [number, number])[1] - (seen[b] as [number, number])[1] || (a < b ? -1 : 1),
  );
  for (const k of keys.slice(0, keys.length - max)) delete seen[k];
}

function amountZ(state: UserState, amount: number, cfg: UserFeatureConfig): number {
  const [n, mean, m2] = state.amounts;
  if (n < cfg.zscoreMinHistory || n < 2) return 0;
  const std = Math.max(Math.sqrt(m2 / (n - 1)), 1);
  return Math.max(-cfg.zscoreClip, Math.min(cfg.zscoreClip, (amount - mean) / std));
}

/**
 * Scratch tables for the distinct counts of {@link windowed}, reset on every call rather than
 * allocated (scratch-index.ts says why and why it is safe).
 */
const scratchDevices = new IntIndex();
const scratchMerchants = new IntIndex();
const scratchCountries = new StringIndex();

function windowed(recent: readonly RecentEntry[], at: number, t: number) {
  let c1 = 0;
  let u1 = 0;
  let f1 = 0;
  let c24 = 0;
  let u24 = 0;
  const devices = scratchDevices;
  const merchants = scratchMerchants;
  const countries = scratchCountries;
  devices.reset(at + 1);
  merchants.reset(at + 1);
  countries.reset();
  // the list is sorted and the new entry sits after every ts ≤ t, so entries past `at` are in the
  // future; scan back from `at` and stop at the 24 h boundary (indexed access: this is the hot loop)
  const dayStart = t - DAY;
  const hourStart = t - HOUR;
  for (let i = at; i >= 0; i--) {
    const e = recent[i] as RecentEntry;
    const ts = e[0];
    if (ts <= dayStart) break;
    c24++;
    u24 += e[1];
    merchants.indexOf(e[2]);
    if (e[3] !== -1) devices.indexOf(e[3]);
    if (e[4] !== '') countries.indexOf(e[4]);
    if (ts > hourStart) {
      c1++;
      u1 += e[1];
      f1 += e[5];
    }
  }
  let streak = 0;
  for (let i = at; i >= 0; i--) {
    const e = recent[i] as RecentEntry;
    if (e[0] <= dayStart || e[5] === 0) break;
    streak++;
  }
  return {
    c1,
    u1,
    f1,
    c24,
    u24,
    devices: devices.size,
    merchants: merchants.size,
    countries: countries.size,
    streak,
  };
}

function prune(state: UserState, cfg: UserFeatureConfig): void {
  const horizon = (state.maxTs ?? 0) - DAY - cfg.allowedLatenessMs;
  let cut = 0;
  while (cut < state.recent.length && (state.recent[cut] as RecentEntry)[0] <= horizon) cut++;
  const over = state.recent.length - cut - cfg.maxRecentEvents;
  if (over > 0) {
    state.dropped += over;
    cut += over;
  }
  if (cut > 0) state.recent.splice(0, cut);
}

/**
 * Folds one (deduplicated) event into the state and returns its features. Mutates `state`;
 * throws (before mutating) on a non-integer time or non-finite amount.
 */
export function observeUserEvent(
  state: UserState,
  ev: UserEvent,
  cfg: UserFeatureConfig,
  graph?: GraphContext,
): UserFeatures {
  const t = ev.ts_ms;
  if (!Number.isSafeInteger(t)) throw new RangeError(`ts_ms must be an integer, got ${t}`);
  if (!Number.isFinite(ev.amount)) throw new RangeError(`amount must be finite, got ${ev.amount}`);
  const amount = Math.abs(ev.amount);
  const failed = ev.status === 'failed' ? 1 : 0;
  const newDevice = isNew(state.devices, ev.device_id, t);
  const newCountry = isNew(state.countries, ev.country, t);
  const z = amountZ(state, amount, cfg);

  const entry: RecentEntry = [
    t,
    amountToUnits(amount),
    murmur3(ev.merchant_id),
    ev.device_id === undefined ? -1 : murmur3(ev.device_id),
    ev.country ?? '',
    failed,
  ];
  const at = insertionPoint(state.recent, t);
  state.recent.splice(at, 0, entry);
  const w = windowed(state.recent, at, t);

  remember(state.devices, ev.device_id, t, cfg.maxSeenDevices);
  remember(state.countries, ev.country, t, cfg.maxSeenCountries);
  const [n, mean, m2] = state.amounts;
  const delta = amount - mean;
  const nextMean = mean + delta / (n + 1);
  state.amounts[0] = n + 1;
  state.amounts[1] = nextMean;
  state.amounts[2] = m2 + delta * (amount - nextMean);
  state.maxTs = state.maxTs === null ? t : Math.max(state.maxTs, t);
  prune(state, cfg);

  return {
    velocity_1h_count: w.c1,
    velocity_1h_amount: unitsToAmount(w.u1),
    velocity_24h_count: w.c24,
    velocity_24h_amount: unitsToAmount(w.u24),
    failed_1h_count: w.f1,
    distinct_devices_24h: w.devices,
    distinct_merchants_24h: w.merchants,
    distinct_countries_24h: w.countries,
    new_device: newDevice,
    new_country: newCountry,
    amount,
    amount_zscore: z,
    failure_streak: w.streak,
    graph_ring_score: graph?.ringScore ?? 0,
    graph_component_size: graph?.componentSize ?? 1,
    established_new_device_and_country: newDevice * newCountry * (n >= cfg.zscoreMinHistory ? 1 : 0),
  };
}

/** The features as a numeric vector in {@link FEATURE_NAMES} order. */
export function featureVector(f: UserFeatures): number[] {
  return FEATURE_NAMES.map((name) => f[name]);
}

/** Inverse of {@link featureVector}. @throws RangeError on a length mismatch */
export function featuresFromVector(v: readonly number[]): UserFeatures {
  if (v.length !== FEATURE_NAMES.length) {
    throw new RangeError(`expected ${FEATURE_NAMES.length} features, got ${v.length}`);
  }
  return Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, v[i] as number])) as UserFeatures;
}
