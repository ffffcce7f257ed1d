import { describe, expect, it } from 'vitest';
import { type MerchantState, nextClose } from '../../../src/actors/merchant/merchant-actor.ts';
import { emptyMerchantStats, resolveMerchantStatsConfig } from '../../../src/analytics/merchant-stats.ts';
import { emptyWindowState, resolveWindowConfig } from '../../../src/analytics/windows.ts';
import { prng } from '../../support/counting-actor.ts';

/** Lists every window of every pane, keeps the ends after closedThrough, takes the smallest. */
function bruteForce(state: MerchantState, windowMs: number, slideMs: number, paneMs: number): number | null {
  const ends: number[] = [];
  const closed = state.windows.closedThrough ?? Number.NEGATIVE_INFINITY;
  for (const key of Object.keys(state.windows.panes)) {
    const pane = Number(key);
    for (let s = Math.ceil((pane + paneMs - windowMs) / slideMs) * slideMs; s <= pane; s += slideMs) {
      if (s + windowMs > closed) ends.push(s + windowMs);
    }
  }
  for (const key of Object.keys(state.stats.openHours)) ends.push(Number(key) + 3_600_000);
  return ends.length === 0 ? null : Math.min(...ends);
}

describe('nextClose', () => {
  it.each([
    [300_000, 60_000],
    [300_000, 120_000],
    [60_000, 60_000],
    [600_000, 45_000],
  ])('is the earliest open window end (window %i, slide %i)', (windowMs, slideMs) => {
    const windows = resolveWindowConfig({ windowMs, slideMs });
    const config = { windows, stats: resolveMerchantStatsConfig() };
    const rand = prng(windowMs + slideMs);
    const base = Date.UTC(2026, 0, 1);
    for (let trial = 0; trial < 300; trial += 1) {
      const state: MerchantState = { windows: emptyWindowState(), stats: emptyMerchantStats(), nextCloseAt: null };
      const panes = Math.floor(rand() * 6);
      for (let i = 0; i < panes; i += 1) {
        const pane = base + Math.floor(rand() * 40) * windows.paneMs;
        state.windows.panes[String(pane)] = {};
      }
      if (rand() < 0.8) state.windows.closedThrough = base + Math.floor(rand() * 50 * windows.paneMs) - 7;
      if (rand() < 0.3) state.stats.openHours[String(base + Math.floor(rand() * 3) * 3_600_000)] = 1;
      expect(nextClose(state, config)).toBe(bruteForce(state, windowMs, slideMs, windows.paneMs));
    }
  });
});
