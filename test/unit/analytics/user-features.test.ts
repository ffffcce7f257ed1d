import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../../src/analytics/prng.ts';
import {
  emptyUserState,
  FEATURE_NAMES,
  featuresFromVector,
  featureVector,
  observeUserEvent,
  resolveUserFeatureConfig,
  type UserEvent,
  type UserFeatures,
  type UserState,
} from '../../../src/analytics/user-features.ts';
import { recomputeUserFeaturesBruteForce } from './user-features.oracle.ts';

const MIN = 60_000;

/** One user's events in arrival order: bursts and quiet spells over ~3 days, out of order by ≤ 15 min. */
function userEvents(rng: Rng, n: number, devices = 4, countries = 3, coarse = false): UserEvent[] {
  let clock = 1_700_000_000_000;
  const out: UserEvent[] = [];
  for (let i = 0; i < n; i++) {
    clock += rng.chance(0.3) ? rng.int(30_000) : rng.int(90 * MIN);
    const ts = clock - rng.int(15 * MIN);
    out.push({
      // coarse times (whole 5 minutes) land exactly on window boundaries t − 1 h and t − 24 h
      ts_ms: coarse ? ts - (ts % (5 * MIN)) : ts,
      amount: rng.chance(0.1) ? -rng.int(50_000) / 100 : rng.int(20_000) / 100 + 0.005 * rng.int(2),
      merchant_id: `m${rng.int(12)}`,
      status: rng.chance(0.25) ? 'failed' : 'captured',
      // 2%: a takeover-like event, on a never-seen device from a never-seen country
      ...(rng.chance(0.02)
        ? { device_id: `fresh${i}`, country: `X${i % 7}` }
        : {
            ...(rng.chance(0.9) ? { device_id: `d${rng.int(devices)}` } : {}),
            ...(rng.chance(0.8) ? { country: ['US', 'FR', 'VN', 'BR'][rng.int(countries)] } : {}),
          }),
    });
  }
  return out;
}

function expectSame(actual: UserFeatures, expected: UserFeatures, where: string): void {
  for (const name of FEATURE_NAMES) {
    if (name === 'amount_zscore') expect(actual[name], `${where} ${name}`).toBeCloseTo(expected[name], 8);
    else expect(actual[name], `${where} ${name}`).toBe(expected[name]);
  }
}

describe('user features', () => {
  it('equal the brute-force oracle at every event, for out-of-order streams', () => {
    const cfg = resolveUserFeatureConfig();
    for (let seed = 1; seed <= 8; seed++) {
      const rng = createRng(seed);
      const events = userEvents(rng, 250, 4, 3, seed % 2 === 0);
      const graphOf = (i: number) => (i % 7 === 0 ? { ringScore: i / 250, componentSize: i } : undefined);
      const expected = recomputeUserFeaturesBruteForce(events, { graph: graphOf });
      let state: UserState = emptyUserState();
      events.forEach((e, i) => {
        if (i % 50 === 25) state = JSON.parse(JSON.stringify(state)); // persisted and reloaded
        expectSame(observeUserEvent(state, e, cfg, graphOf(i)), expected[i]!, `seed ${seed} event ${i}`);
      });
      expect(state.dropped).toBe(0);
    }
  });

  it('count many distinct merchants, devices and countries like the oracle (past the small-set paths)', () => {
    const rng = createRng(7);
    const windowedNames = FEATURE_NAMES.filter((n) => n.startsWith('velocity_') || n.startsWith('distinct_') || n === 'failed_1h_count' || n === 'failure_streak');
    const events: UserEvent[] = [];
    for (let i = 0; i < 450; i++) {
      events.push({
        ts_ms: 1_700_000_000_000 + i * 3 * MIN - rng.int(20 * MIN),
        amount: 1 + rng.int(100),
        merchant_id: `m${rng.int(300)}`,
        status: rng.chance(0.3) ? 'failed' : 'captured',
        ...(rng.chance(0.9) ? { device_id: `d${rng.int(200)}` } : {}),
        // up to 40 codes, some not two letters long
        ...(rng.chance(0.9) ? { country: rng.chance(0.5) ? 'FR' : `${String.fromCharCode(65 + rng.int(26))}${'Q'.repeat(rng.int(3))}` } : {}),
      });
    }
    const expected = recomputeUserFeaturesBruteForce(events);
    const state = emptyUserState();
    const cfg = resolveUserFeatureConfig();
    let most = { devices: 0, merchants: 0, countries: 0 };
    events.forEach((e, i) => {
      const f = observeUserEvent(state, e, cfg);
      for (const name of windowedNames) expect(f[name], `event ${i} ${name}`).toBe(expected[i]![name]);
      most = {
        devices: Math.max(most.devices, f.distinct_devices_24h),
        merchants: Math.max(most.merchants, f.distinct_merchants_24h),
        countries: Math.max(most.countries, f.distinct_countries_24h),
      };
    });
    expect(most.merchants).toBeGreaterThan(150);
    expect(most.devices).toBeGreaterThan(100);
    expect(most.countries).toBeGreaterThan(30);
  });

  it('features actually vary (the comparison is not vacuous)', () => {
    const events = userEvents(createRng(99), 300);
    const f = recomputeUserFeaturesBruteForce(events);
    for (const name of FEATURE_NAMES.filter((n) => !n.startsWith('graph_'))) {
      expect(new Set(f.map((x) => x[name])).size, name).toBeGreaterThan(1);
    }
    expect(Math.max(...f.map((x) => x.failure_streak))).toBeGreaterThanOrEqual(3);
  });

  it('keeps state bounded: a 24 h horizon, an event cap, and last-N seen sets', () => {
    const cfg = resolveUserFeatureConfig({ maxRecentEvents: 40, maxSeenDevices: 3, maxSeenCountries: 2 });
    const state = emptyUserState();
    const rng = createRng(4);
    let t = 1_700_000_000_000;
    for (let i = 0; i < 2_000; i++) {
      t += rng.int(20 * MIN);
      observeUserEvent(
        state,
        {
          ts_ms: t,
          amount: 10,
          merchant_id: 'm',
          status: 'captured',
          device_id: `d${i % 7}`,
          country: `C${i % 5}`,
        },
        cfg,
      );
      expect(state.recent.length).toBeLessThanOrEqual(40);
      expect(Object.keys(state.devices).length).toBeLessThanOrEqual(3);
      expect(Object.keys(state.countries).length).toBeLessThanOrEqual(2);
    }
    expect(JSON.stringify(state).length).toBeLessThan(4_000);
    // the burst overflow is reported, not hidden
    for (let i = 0; i < 100; i++)
      observeUserEvent(state, { ts_ms: t + i, amount: 1, merchant_id: 'm', status: 'failed' }, cfg);
    expect(state.dropped).toBeGreaterThan(0);
  });

  it('forgets the least recently used device beyond the cap', () => {
    const cfg = resolveUserFeatureConfig({ maxSeenDevices: 2 });
    const state = emptyUserState();
    const at = (ts: number, device_id: string) =>
      observeUserEvent(state, { ts_ms: ts, amount: 5, merchant_id: 'm', status: 'captured', device_id }, cfg)
        .new_device;
    expect(at(1_000, 'a')).toBe(1);
    expect(at(2_000, 'b')).toBe(1);
    expect(at(3_000, 'a')).toBe(0);
    expect(at(4_000, 'c')).toBe(1); // evicts b (last used at 2000)
    expect(at(5_000, 'a')).toBe(0);
    expect(at(6_000, 'b')).toBe(1);
    // an out-of-order event older than a device's first use sees it as new
    expect(at(500, 'a')).toBe(1);
  });

  it('failure streak counts consecutive failures in event time within 24 h', () => {
    const cfg = resolveUserFeatureConfig();
    const state = emptyUserState();
    const H = 60 * MIN;
    const ev = (ts: number, status: string) =>
      observeUserEvent(state, { ts_ms: ts, amount: 1, merchant_id: 'm', status }, cfg).failure_streak;
    expect(ev(100 * H, 'failed')).toBe(1);
    expect(ev(101 * H, 'failed')).toBe(2);
    expect(ev(124 * H, 'failed')).toBe(2); // the one at 100 h is exactly 24 h old: outside
    expect(ev(124 * H + 1, 'captured')).toBe(0);
    expect(ev(124 * H + 2, 'failed')).toBe(1);
    expect(ev(123 * H, 'failed')).toBe(3); // out of order: 100 h, 101 h, 123 h (124 h is later in event time)
  });

  it('z-score uses the history before the current amount', () => {
    const cfg = resolveUserFeatureConfig();
    const state = emptyUserState();
    const f = [10, 12, 11, 13, 100].map((amount, i) =>
      observeUserEvent(state, { ts_ms: i * 1000, amount, merchant_id: 'm', status: 'captured' }, cfg),
    );
    expect(f[2]!.amount_zscore).toBe(0); // only 2 amounts of history
    // history 10, 12, 11: mean 11, sample std 1
    expect(f[3]!.amount_zscore).toBeCloseTo(2, 12);
    const h = [10, 12, 11, 13];
    const mean = h.reduce((a, b) => a + b) / 4;
    const sd = Math.sqrt(h.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    expect(f[4]!.amount_zscore).toBeCloseTo(Math.min(20, (100 - mean) / sd), 12);
  });

  it('vector order follows FEATURE_NAMES and round-trips', () => {
    const state = emptyUserState();
    const f = observeUserEvent(
      state,
      { ts_ms: 5, amount: 3, merchant_id: 'm', status: 'failed', country: 'FR' },
      resolveUserFeatureConfig(),
    );
    const v = featureVector(f);
    expect(v.length).toBe(FEATURE_NAMES.length);
    expect(v[FEATURE_NAMES.indexOf('failure_streak')]).toBe(1);
    expect(featuresFromVector(v)).toEqual(f);
    expect(() => featuresFromVector([1, 2])).toThrow(RangeError);
    expect(() =>
      observeUserEvent(
        state,
        { ts_ms: 1.5, amount: 3, merchant_id: 'm', status: 'x' },
        resolveUserFeatureConfig(),
      ),
    ).toThrow();
    expect(state.recent.length).toBe(1);
  });
});
