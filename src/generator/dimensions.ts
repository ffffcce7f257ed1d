import type { GeneratedTraffic } from './generate.ts';
import { COUNTRIES } from './population.ts';

/**
 * Dimension tables of a generated run, as a merchant and a user master-data system would export
 * them (the curated layer joins them: src/adapters/duckdb/curated.ts). Users the planted fraud
 * created are exported like everyone else (home country: the country of their first payment),
 * so no column tells a fraud account from a real one.
 */
export interface MerchantRow {
  readonly merchant_id: string;
  readonly category: string;
  readonly country: string;
  readonly currency: string;
}

export interface UserRow {
  readonly user_id: string;
  readonly home_country: string;
  readonly registered_devices: number;
}

export interface FxRateRow {
  readonly currency: string;
  /** US dollars per unit of the currency. */
  readonly usd_per_unit: number;
}

export interface Dimensions {
  readonly merchants: MerchantRow[];
  readonly users: UserRow[];
  readonly fxRates: FxRateRow[];
}

export function dimensionRows(traffic: Pick<GeneratedTraffic, 'population' | 'emissions'>): Dimensions {
  const users = new Map<string, UserRow>();
  for (const u of traffic.population.users) users.set(u.id, { user_id: u.id, home_country: u.home, registered_devices: u.devices.length });
  // Emissions are in send order; the first one of a user in event time decides its home.
  const first = new Map<string, { ts: number; country: string; devices: Set<string> }>();
  for (const { event } of traffic.emissions) {
    if (users.has(event.user_id)) continue;
    const seen = first.get(event.user_id);
    if (!seen) first.set(event.user_id, { ts: event.ts_ms, country: event.country ?? '', devices: new Set(event.device_id ? [event.device_id] : []) });
    else {
      if (event.ts_ms < seen.ts) Object.assign(seen, { ts: event.ts_ms, country: event.country ?? seen.country });
      if (event.device_id) seen.devices.add(event.device_id);
    }
  }
  for (const [id, s] of first) users.set(id, { user_id: id, home_country: s.country, registered_devices: s.devices.size });
  const currencies = new Map<string, number>([['USD', 1]]);
  for (const c of COUNTRIES) currencies.set(c.currency, 1 / c.perUsd);
  return {
    merchants: traffic.population.merchants.map((m) => ({ merchant_id: m.id, category: m.category, country: m.country, currency: m.currency })),
    users: [...users.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0)),
    fxRates: [...currencies].map(([currency, usd_per_unit]) => ({ currency, usd_per_unit })).sort((a, b) => (a.currency < b.currency ? -1 : 1)),
  };
}
