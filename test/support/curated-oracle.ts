import { amountToUnits } from '../../src/analytics/money.ts';
import type { PaymentEvent } from '../../src/contract/event.ts';
import type { Dimensions } from '../../src/generator/dimensions.ts';

/** A record as it reached Kafka: partition, offset and timestamp decide which copy is first. */
export interface ArrivedEvent {
  readonly event: PaymentEvent;
  readonly partition: number;
  readonly offset: number;
  readonly arrivedMs: number;
}

export interface OraclePayment {
  readonly event_id: string;
  readonly event_date: string;
  readonly user_id: string;
  readonly merchant_id: string;
  readonly status: string;
  readonly amount: number;
  readonly amount_usd: number | null;
  readonly risk_bucket: string;
  readonly merchant_category: string | null;
  readonly user_home_country: string | null;
  readonly cross_border: boolean | null;
  readonly rolling_amount_usd: number | null;
}

export interface OracleMerchantDay {
  readonly cnt: number;
  readonly units: number;
  readonly users: Set<string>;
  readonly byStatus: Map<string, { cnt: number; units: number }>;
}

/**
 * Brute-force recomputation of the curated tables, in plain TypeScript loops: the first copy of
 * each event id by (arrival, partition, offset) among records that arrived before the cut and
 * whose event time is before `toMs`; the user's rolling amount over that payment and the 10
 * before it by (event time, event id), among events from `contextFromMs` on.
 */
export function curatedOracle(
  records: readonly ArrivedEvent[],
  dims: Dimensions,
  cut: { contextFromMs: number; toMs: number; arrivedBeforeMs: number; dates: ReadonlySet<string> },
): { payments: Map<string, OraclePayment>; merchantDays: Map<string, OracleMerchantDay> } {
  const sorted = [...records].sort((a, b) => a.arrivedMs - b.arrivedMs || a.partition - b.partition || a.offset - b.offset);
  const first = new Map<string, PaymentEvent>();
  for (const r of sorted) {
    if (r.arrivedMs >= cut.arrivedBeforeMs || r.event.ts_ms < cut.contextFromMs || r.event.ts_ms >= cut.toMs) continue;
    if (!first.has(r.event.event_id)) first.set(r.event.event_id, r.event);
  }
  const merchants = new Map(dims.merchants.map((m) => [m.merchant_id, m]));
  const users = new Map(dims.users.map((u) => [u.user_id, u]));
  const fx = new Map(dims.fxRates.map((f) => [f.currency, f.usd_per_unit]));
  const byUser = new Map<string, PaymentEvent[]>();
  for (const e of first.values()) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  const payments = new Map<string, OraclePayment>();
  for (const list of byUser.values()) {
    list.sort((a, b) => a.ts_ms - b.ts_ms || (a.event_id < b.event_id ? -1 : 1));
    list.forEach((e, i) => {
      const date = new Date(e.ts_ms).toISOString().slice(0, 10);
      if (!cut.dates.has(date)) return;
      const usd = (x: PaymentEvent) => (fx.has(x.currency) ? x.amount * fx.get(x.currency)! : null);
      const window = list.slice(Math.max(0, i - 10), i + 1).map(usd).filter((v): v is number => v !== null);
      const amountUsd = usd(e);
      const home = users.get(e.user_id)?.home_country ?? null;
      payments.set(e.event_id, {
        event_id: e.event_id,
        event_date: date,
        user_id: e.user_id,
        merchant_id: e.merchant_id,
        status: e.status,
        amount: e.amount,
        amount_usd: amountUsd,
        risk_bucket: e.status !== 'failed' ? 'risk_low' : amountUsd !== null && amountUsd >= 100 ? 'risk_high' : 'risk_med',
        merchant_category: merchants.get(e.merchant_id)?.category ?? null,
        user_home_country: home,
        cross_border: e.country === undefined || home === null ? null : e.country !== home,
        rolling_amount_usd: window.length === 0 ? null : window.reduce((s, v) => s + v, 0),
      });
    });
  }
  const merchantDays = new Map<string, OracleMerchantDay>();
  for (const p of payments.values()) {
    const key = `${p.event_date}|${p.merchant_id}`;
    const day = merchantDays.get(key) ?? { cnt: 0, units: 0, users: new Set<string>(), byStatus: new Map() };
    const s = day.byStatus.get(p.status) ?? { cnt: 0, units: 0 };
    day.byStatus.set(p.status, { cnt: s.cnt + 1, units: s.units + amountToUnits(p.amount) });
    day.users.add(p.user_id);
    merchantDays.set(key, { ...day, cnt: day.cnt + 1, units: day.units + amountToUnits(p.amount) });
  }
  return { payments, merchantDays };
}

/** A DECIMAL(…,4) as DuckDB's JSON rows give it (a string) in 1/10,000 units. */
export const decimalUnits = (v: unknown): number => Math.round(Number(v) * 10_000);
