import { describe, expect, it } from 'vitest';
import { type MerchantState, merchantActor } from '../../../src/actors/merchant/merchant-actor.ts';
import { resolveMerchantStatsConfig } from '../../../src/analytics/merchant-stats.ts';
import { HLL_SPARSE_MAX } from '../../../src/analytics/hll.ts';
import { packHll } from '../../../src/analytics/hll-pack.ts';
import { resolveWindowConfig } from '../../../src/analytics/windows.ts';
import type { IngestedEvent } from '../../../src/contract/event.ts';
import { prng } from '../../support/counting-actor.ts';

const actor = merchantActor({ windows: resolveWindowConfig(), stats: resolveMerchantStatsConfig() });
const STATUSES = ['authorized', 'captured', 'refunded', 'failed'] as const;
const BASE = Date.UTC(2026, 0, 1);

/** Version 2 text built from scratch (no cache): panes as [cnt, sumUnits, packed sketch]. */
function v2Oracle(state: MerchantState): string {
  const panes = Object.fromEntries(Object.entries(state.windows.panes).map(([start, byStatus]) => [
    start, Object.fromEntries(Object.entries(byStatus).map(([status, p]) => [status, [p.cnt, p.sumUnits, packHll(p.users)]])),
  ]));
  return JSON.stringify({ ...state, windows: { ...state.windows, panes } });
}

/**
 * The codec reuses each unchanged pane's text: after every event and every close its output must
 * be the version 2 text built from scratch, including panes changed by late events, sketches that
 * turned dense, repeated users (sketch unchanged, count changed) and pruned panes; it decodes to
 * an equal state, and the same state stored as version 1 (JSON.stringify) decodes too.
 */
describe('merchant state codec', () => {
  it('writes the version 2 text after every step, decodes it and version 1 to the same state', () => {
    const rand = prng(3);
    let state: MerchantState = actor.initialState('m1');
    let watermark = Number.NEGATIVE_INFINITY;
    let now = BASE;
    let denseSeen = false;
    let closes = 0;
    let v1Bytes = 0;
    let previous: ReadonlyMap<string, string> | undefined;
    let changedParts = 0;
    let encodes = 0;
    let v2Bytes = 0;
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
        expect(encoded).toBe(v2Oracle(state));
        expect(actor.codec.decode(encoded, 2)).toEqual(state);
        expect(actor.codec.decode(JSON.stringify(state), 1)).toEqual(state);
        v1Bytes += JSON.stringify(state).length;
        v2Bytes += encoded.length;
        // in parts (runtime/state-parts.ts): one per pane start, unchanged ones as the same text
        const { head, parts } = actor.codec.encodeParts!(state);
        expect([...parts.keys()]).toEqual(Object.keys(state.windows.panes));
        expect(actor.codec.decodeParts!(head, parts, 2)).toEqual(state);
        for (const [start, text] of parts) if (previous?.get(start) !== text) changedParts += 1;
        previous = parts;
        encodes += 1;
      }
      for (const byStatus of Object.values(state.windows.panes)) {
        for (const pane of Object.values(byStatus)) if (pane.users.k === 'd') denseSeen = true;
      }
    }
    expect(closes).toBeGreaterThan(20);
    expect(actor.codec.version).toBe(2);
    expect(v2Bytes / v1Bytes).toBeLessThan(0.5);
    // encoded every 7 events: a handful of panes changed in between, of the ~25 held
    expect(changedParts / encodes).toBeLessThan(6);
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
    expect(actor.codec.encode(state)).toBe(v2Oracle(state));
    expect(actor.codec.encode(state)).not.toBe(first);
    const copy = actor.codec.decode(actor.codec.encode(state), 2);
    expect(actor.codec.encode(copy)).toBe(v2Oracle(state));
  });

  it('refuses unknown versions and malformed version 2 panes', () => {
    expect(() => actor.codec.decode('{}', 3)).toThrow(/version 3/);
    const good = actor.codec.encode(actor.initialState('m3'));
    expect(actor.codec.decode(good, 2)).toEqual(actor.initialState('m3'));
    for (const pane of ['{"cnt":1,"sumUnits":1,"users":{"k":"s","h":[]}}', '[1,1]', '[1,1,"s1.0."]', '["1",1,"s0.0."]']) {
      const bad = `{"windows":{"v":1,"closedThrough":null,"panes":{"0":{"failed":${pane}}}}}`;
      expect(() => actor.codec.decode(bad, 2), pane).toThrow(RangeError);
    }
  });
});
