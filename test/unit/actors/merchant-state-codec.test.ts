import { describe, expect, it } from 'vitest';
import { type MerchantState, merchantActor } from '../../../src/actors/merchant/merchant-actor.ts';
import { resolveMerchantStatsConfig } from '../../../src/analytics/merchant-stats.ts';
import { HLL_SPARSE_MAX } from '../../../src/analytics/hll.ts';
import { resolveWindowConfig } from '../../../src/analytics/windows.ts';
import type { IngestedEvent } from '../../../src/contract/event.ts';
import { prng } from '../../support/counting-actor.ts';

const actor = merchantActor({ windows: resolveWindowConfig(), stats: resolveMerchantStatsConfig() });
const STATUSES = ['authorized', 'captured', 'refunded', 'failed'] as const;
const BASE = Date.UTC(2026, 0, 1);

/**
 * The codec reuses each unchanged pane's JSON: after every event and every close its output must
 * be JSON.stringify's (the format stored states have), including panes changed by late events,
 * sketches that turned dense, repeated users (sketch unchanged, count changed) and pruned panes.
 */
describe('merchant state codec', () => {
  it('writes exactly JSON.stringify(state) after every step, and decodes to the same state', () => {
    const rand = prng(3);
    let state: MerchantState = actor.initialState('m1');
    let watermark = Number.NEGATIVE_INFINITY;
    let now = BASE;
    let denseSeen = false;
    let closes = 0;
    for (let i = 0; i < 6_000; i += 1) {
      now += Math.floor(rand() * (i < 3_000 ? 20 : 400)); // a busy first minute (dense sketches), then closes
      const late = rand() < 0.1 ? Math.floor(rand() * 600_000) : 0; // updates an older, cached pane
      const event: IngestedEvent = {
        event_id: `e${i}`, ts_ms: now - late, user_id: `u${Math.floor(rand() * (i < 3_000 ? 5_000 : 50))}`, merchant_id: 'm1',
        amount: Math.round(rand() * 10_000) / 100, currency: 'USD', status: rand() < 0.7 ? 'captured' : STATUSES[Math.floor(rand() * 4)]!, ingest_received_ms: now,
      };
      state = actor.handle(state, event, { key: 'm1', partition: 0, offset: String(i), watermarkMs: watermark }).state;
      if (rand() < 0.05) {
        watermark = now - 400_000;
        if (state.nextCloseAt !== null && state.nextCloseAt <= watermark) {
          closes += 1;
          state = actor.onTimer!(state, { tag: 'close', atMs: state.nextCloseAt }, { key: 'm1', partition: 0, watermarkMs: watermark }).state;
        }
      }
      if (i % 7 === 0 || i > 5_900) {
        const encoded = actor.codec.encode(state);
        expect(encoded).toBe(JSON.stringify(state));
        expect(actor.codec.decode(encoded, 1)).toEqual(state);
      }
      for (const byStatus of Object.values(state.windows.panes)) {
        for (const pane of Object.values(byStatus)) if (pane.users.k === 'd') denseSeen = true;
      }
    }
    expect(closes).toBeGreaterThan(20);
    expect(denseSeen, `some pane sketch went past ${HLL_SPARSE_MAX} users`).toBe(true);
  });

  it('sees a pane changed behind its back (same count) and a decoded copy', () => {
    const state = actor.initialState('m2');
    const event: IngestedEvent = {
      event_id: 'e1', ts_ms: BASE, user_id: 'u1', merchant_id: 'm2', amount: 1, currency: 'USD', status: 'captured', ingest_received_ms: BASE,
    };
    actor.handle(state, event, { key: 'm2', partition: 0, offset: '0', watermarkMs: 0 });
    const first = actor.codec.encode(state);
    const pane = Object.values(state.windows.panes)[0]!.captured!;
    pane.sumUnits += 5;
    expect(actor.codec.encode(state)).toBe(JSON.stringify(state));
    expect(actor.codec.encode(state)).not.toBe(first);
    const copy = actor.codec.decode(actor.codec.encode(state), 1);
    expect(actor.codec.encode(copy)).toBe(JSON.stringify(state));
  });
});
