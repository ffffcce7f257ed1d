import { describe, expect, it } from 'vitest';
import { dimensionRows } from '../../../src/generator/dimensions.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';

describe('dimension tables of a generated run', () => {
  const traffic = generateTraffic(generatorOptions({ seed: 'dims', events: 20_000 }));
  const dims = dimensionRows(traffic);

  it('every merchant, user and currency of the traffic has exactly one row', () => {
    const ids = (rows: readonly object[], key: string) => rows.map((r) => String((r as Record<string, unknown>)[key]));
    for (const [rows, key] of [[dims.merchants, 'merchant_id'], [dims.users, 'user_id'], [dims.fxRates, 'currency']] as const) {
      expect(new Set(ids(rows, key)).size).toBe(rows.length);
    }
    const users = new Set(ids(dims.users, 'user_id'));
    const merchants = new Set(ids(dims.merchants, 'merchant_id'));
    const currencies = new Set(ids(dims.fxRates, 'currency'));
    for (const { event } of traffic.emissions) {
      expect(users.has(event.user_id)).toBe(true);
      expect(merchants.has(event.merchant_id)).toBe(true);
      expect(currencies.has(event.currency)).toBe(true);
    }
  });

  it('accounts the planted fraud created look like others: home is the country of their first payment', () => {
    const population = new Set(traffic.population.users.map((u) => u.id));
    const created = traffic.emissions.filter((e) => !population.has(e.event.user_id));
    expect(created.length).toBeGreaterThan(0);
    const firstCountry = new Map<string, { ts: number; country: string | undefined }>();
    for (const { event } of created) {
      const seen = firstCountry.get(event.user_id);
      if (!seen || event.ts_ms < seen.ts) firstCountry.set(event.user_id, { ts: event.ts_ms, country: event.country });
    }
    const byId = new Map(dims.users.map((u) => [u.user_id, u]));
    for (const [id, first] of firstCountry) expect(byId.get(id)?.home_country).toBe(first.country ?? '');
    for (const u of traffic.population.users) expect(byId.get(u.id)).toEqual({ user_id: u.id, home_country: u.home, registered_devices: u.devices.length });
    // same columns, same value ranges for both kinds of account
    expect(new Set(dims.users.map((u) => Object.keys(u).join()))).toEqual(new Set(['user_id,home_country,registered_devices']));
  });

  it('FX rates: USD is 1 and every other currency is positive', () => {
    expect(dims.fxRates.find((f) => f.currency === 'USD')?.usd_per_unit).toBe(1);
    expect(dims.fxRates.every((f) => f.usd_per_unit > 0)).toBe(true);
  });
});
