import { describe, expect, it } from 'vitest';
import {
  addMerchantEvent,
  closeMerchantHours,
  emptyMerchantStats,
  type MerchantAlert,
  merchantStatsView,
  resolveMerchantStatsConfig,
  rollingHour,
} from '../../../src/analytics/merchant-stats.ts';
import { createRng } from '../../../src/analytics/prng.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);

describe('merchant rolling failure rate', () => {
  it('rolling hour and since-start equal a brute-force recount after every event', () => {
    const cfg = resolveMerchantStatsConfig();
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      const state = emptyMerchantStats();
      const seen: { ts: number; failed: boolean }[] = [];
      let clock = T0;
      let maxTs = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < 3_000; i++) {
        clock += rng.int(20_000);
        const ev = { ts_ms: clock - rng.int(15 * MIN), status: rng.chance(0.2) ? 'failed' : 'captured' };
        const { accepted } = addMerchantEvent(state, ev, cfg);
        expect(accepted).toBe(true); // no hours are closed in this test
        seen.push({ ts: ev.ts_ms, failed: ev.status === 'failed' });
        maxTs = Math.max(maxTs, ev.ts_ms);
        const from = Math.floor(maxTs / MIN) * MIN - 59 * MIN;
        const inHour = seen.filter((e) => e.ts >= from);
        const h = rollingHour(state);
        expect(h.total).toBe(inHour.length);
        expect(h.failed).toBe(inHour.filter((e) => e.failed).length);
        expect(state.total).toBe(seen.length);
        expect(state.failed).toBe(seen.filter((e) => e.failed).length);
        expect(Object.keys(state.minutes).length).toBeLessThanOrEqual(60);
      }
    }
  });

  it('upgrades a state persisted without running totals', () => {
    const cfg = resolveMerchantStatsConfig();
    const state = emptyMerchantStats();
    for (let i = 0; i < 10; i++)
      addMerchantEvent(state, { ts_ms: T0 + i * 1000, status: i % 2 ? 'failed' : 'captured' }, cfg);
    const old = JSON.parse(JSON.stringify(state));
    delete old.hour;
    delete old.minutesFrom;
    addMerchantEvent(old, { ts_ms: T0 + 20_000, status: 'failed' }, cfg);
    expect(rollingHour(old)).toEqual({ total: 11, failed: 6, failureRate: 6 / 11 });
  });

  it('raises once above the threshold with enough volume, clears with hysteresis', () => {
    const cfg = resolveMerchantStatsConfig({
      failureRateThreshold: 0.5,
      failureRateClearBelow: 0.3,
      failureRateMinVolume: 10,
    });
    const state = emptyMerchantStats();
    const alerts: MerchantAlert[] = [];
    let t = T0;
    const push = (failed: boolean) => {
      t += 1_000;
      alerts.push(
        ...addMerchantEvent(state, { ts_ms: t, status: failed ? 'failed' : 'captured' }, cfg).alerts,
      );
    };
    for (let i = 0; i < 8; i++) push(true); // 100% failed but only 8 events: below min volume
    expect(alerts).toEqual([]);
    for (let i = 0; i < 4; i++) push(true);
    expect(alerts.map((a) => a.type)).toEqual(['failure_rate_high']);
    expect(alerts[0]?.volume).toBe(10);
    for (let i = 0; i < 15; i++) push(false); // 12/27 = 0.44: between clear and raise, stays active
    expect(alerts.length).toBe(1);
    for (let i = 0; i < 20; i++) push(false); // 12/47 = 0.26 < 0.3: clears once
    expect(alerts.map((a) => a.type)).toEqual(['failure_rate_high', 'failure_rate_recovered']);
    expect(merchantStatsView(state).failureAlertActive).toBe(false);
  });
});

describe('merchant volume anomaly', () => {
  /** Brute force: EW mean/variance over the full hourly series, alerts where |z| crosses. */
  function bruteVolume(counts: number[], alpha: number) {
    let mean = 0;
    let variance = 0;
    const zs: number[] = [];
    counts.forEach((x, i) => {
      zs.push((x - mean) / Math.sqrt(Math.max(variance, mean, 1)));
      if (i === 0) mean = x;
      else {
        const d = x - mean;
        mean += alpha * d;
        variance = (1 - alpha) * (variance + d * alpha * d);
      }
    });
    return { mean, variance, zs };
  }

  it('matches a brute-force EW mean/variance and alerts on a planted spike and a silence', () => {
    const cfg = resolveMerchantStatsConfig({
      volumeMinHistoryHours: 24,
      volumeZThreshold: 4,
      volumeMinEvents: 20,
    });
    const rng = createRng(5);
    const counts: number[] = [];
    for (let h = 0; h < 120; h++) counts.push(80 + Math.round(rng.normal() * 8));
    counts[90] = 400; // spike (after the silence: a spike inflates the variance for days)
    counts[60] = 0; // silence
    const state = emptyMerchantStats();
    const alerts: MerchantAlert[] = [];
    counts.forEach((n, h) => {
      for (let i = 0; i < n; i++)
        addMerchantEvent(state, { ts_ms: T0 + h * HOUR + rng.int(HOUR), status: 'captured' }, cfg);
      // close the previous hour 20 minutes into this one, like a watermark with lateness would
      alerts.push(...closeMerchantHours(state, T0 + h * HOUR + 20 * MIN, cfg));
    });
    alerts.push(...closeMerchantHours(state, T0 + 120 * HOUR, cfg));
    const brute = bruteVolume(counts, 1 - 2 ** (-1 / cfg.volumeHalfLifeHours));
    expect(state.volume.hours).toBe(120);
    expect(state.volume.mean).toBeCloseTo(brute.mean, 9);
    expect(state.volume.variance).toBeCloseTo(brute.variance, 6);
    const expected = brute.zs
      .map((z, h) => ({ z, h }))
      .filter(({ z, h }) => h >= 24 && Math.abs(z) >= 4)
      .map(({ h }) => T0 + h * HOUR);
    expect(alerts.map((a) => a.at)).toEqual(expected);
    expect(alerts.find((a) => a.at === T0 + 90 * HOUR)?.type).toBe('volume_spike');
    expect(alerts.find((a) => a.at === T0 + 60 * HOUR)?.type).toBe('volume_drop');
    expect(Object.keys(state.openHours)).toEqual([]);
  });

  it('stays quiet for low-volume merchants and without history; refuses events of closed hours', () => {
    const cfg = resolveMerchantStatsConfig();
    const state = emptyMerchantStats();
    const alerts: MerchantAlert[] = [];
    for (let h = 0; h < 48; h++) {
      const n = h === 40 ? 15 : 1; // 15x the usual, but below volumeMinEvents
      for (let i = 0; i < n; i++)
        addMerchantEvent(state, { ts_ms: T0 + h * HOUR + i, status: 'captured' }, cfg);
      alerts.push(...closeMerchantHours(state, T0 + (h + 1) * HOUR, cfg));
    }
    expect(alerts).toEqual([]);
    expect(addMerchantEvent(state, { ts_ms: T0 + 47 * HOUR, status: 'captured' }, cfg).accepted).toBe(false);
    expect(closeMerchantHours(state, T0, cfg)).toEqual([]);
    // a month of silence is bounded work and ends in one drop alert at most per folded hour
    const before = state.volume.hours;
    closeMerchantHours(state, T0 + 48 * HOUR + 30 * 24 * HOUR, cfg);
    expect(state.volume.hours - before).toBeLessThanOrEqual(30 * 24);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('rejects inconsistent options', () => {
    expect(() => resolveMerchantStatsConfig({ failureRateThreshold: 1.5 })).toThrow(RangeError);
    expect(() =>
      resolveMerchantStatsConfig({ failureRateThreshold: 0.1, failureRateClearBelow: 0.2 }),
    ).toThrow(RangeError);
    expect(() => resolveMerchantStatsConfig({ volumeHalfLifeHours: 0 })).toThrow(RangeError);
  });
});
