import { COUNTRIES, type Population, type SimMerchant } from './population.ts';
import type { Prng } from './prng.ts';
import { amountFor, normalEvent, rhythmicTime } from './traffic.ts';
import type { AnomalyTruth, DraftEvent } from './types.ts';

const MINUTE_MS = 60_000;
const PER_USD = new Map(COUNTRIES.map((c) => [c.currency, c.perUsd]));
const perUsd = (currency: string) => PER_USD.get(currency) ?? 1;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Card testing: a fraudster checks stolen cards with many tiny authorisations at one
 * (usually digital) merchant within minutes; most fail. 1–3 fresh users, one shared device.
 */
export function plantCardTesting(
  rng: Prng,
  pop: Population,
  bursts: number,
  startMs: number,
  endMs: number,
): DraftEvent[] {
  const out: DraftEvent[] = [];
  const digital = pop.merchants.filter((m) => m.category === 'digital');
  for (let b = 0; b < bursts; b += 1) {
    const merchant = digital.length > 0 && rng.chance(0.8) ? rng.pick(digital) : rng.pick(pop.merchants);
    const users = Array.from({ length: rng.int(1, 3) }, () => pop.newUserId());
    const device = pop.newDeviceId();
    const country = rng.pick(COUNTRIES).code;
    const begin = Math.floor(rng.uniform(startMs, endMs - 15 * MINUTE_MS));
    const span = rng.int(2, 8) * MINUTE_MS;
    const n = rng.int(20, 50);
    for (let i = 0; i < n; i += 1) {
      out.push({
        ts_ms: begin + Math.floor((span * i) / n) + rng.int(0, 999),
        user_id: rng.pick(users),
        merchant_id: merchant.id,
        amount: Math.round(rng.uniform(0.5, 3) * 100) / 100,
        currency: 'USD',
        country,
        device_id: device,
        status: rng.chance(0.7) ? 'failed' : 'authorized',
        metadata: { channel: 'web' },
        pattern: 'card_testing',
        anomaly: null,
      });
    }
  }
  return out;
}

/**
 * Fraud rings: 4–8 users sharing one or two devices, buying resellable goods (electronics,
 * travel) over the whole period. Every event on a ring device is fraud.
 */
export function plantRings(
  rng: Prng,
  pop: Population,
  rings: number,
  startMs: number,
  endMs: number,
): DraftEvent[] {
  const out: DraftEvent[] = [];
  const targets = pop.merchants.filter((m) => m.category === 'electronics' || m.category === 'travel');
  const pool = targets.length > 0 ? targets : pop.merchants;
  for (let r = 0; r < rings; r += 1) {
    const devices = Array.from({ length: rng.int(1, 2) }, () => pop.newDeviceId());
    const home = rng.pick(COUNTRIES).code;
    const members = rng.int(4, 8);
    for (let u = 0; u < members; u += 1) {
      const userId = pop.newUserId();
      const n = rng.int(6, 16);
      for (let i = 0; i < n; i += 1) {
        const merchant = rng.pick(pool);
        out.push({
          ts_ms: rhythmicTime(rng, startMs, endMs),
          user_id: userId,
          merchant_id: merchant.id,
          amount: amountFor(rng, merchant, 1.5),
          currency: merchant.currency,
          country: home,
          device_id: rng.pick(devices),
          status: rng.chance(0.85) ? 'captured' : 'authorized',
          metadata: { channel: rng.chance(0.5) ? 'app' : 'web' },
          pattern: 'ring',
          anomaly: null,
        });
      }
    }
  }
  return out;
}

/**
 * Account takeover: an established user (≥ 3 earlier events) suddenly buys from a device
 * never seen before, in a country other than home, for a high amount, 1–3 times in minutes.
 */
export function plantAto(
  rng: Prng,
  pop: Population,
  base: readonly DraftEvent[],
  count: number,
  endMs: number,
): DraftEvent[] {
  const history = new Map<string, DraftEvent[]>();
  for (const e of base) {
    const list = history.get(e.user_id);
    if (list) list.push(e);
    else history.set(e.user_id, [e]);
  }
  const candidates = [...history.entries()].filter(([, evs]) => evs.length >= 3);
  const chosen = rng.sample(candidates.length, count).map((i) => candidates[i]!);
  const targets = pop.merchants.filter((m) => m.category === 'electronics' || m.category === 'travel');
  const out: DraftEvent[] = [];
  for (const [userId, evs] of chosen) {
    const sorted = [...evs].sort((a, b) => a.ts_ms - b.ts_ms);
    const at = sorted[2]!.ts_ms + rng.int(1, 12) * HOUR_MS;
    if (at + 10 * MINUTE_MS >= endMs) continue;
    const before = sorted.filter((e) => e.ts_ms < at);
    const seen = new Set(before.map((e) => e.country));
    const fresh = COUNTRIES.filter((c) => !seen.has(c.code));
    if (fresh.length === 0) continue;
    const device = pop.newDeviceId();
    const country = rng.pick(fresh).code;
    const typicalUsd = before.reduce((s, e) => s + e.amount / perUsd(e.currency), 0) / before.length;
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i += 1) {
      const merchant: SimMerchant = targets.length > 0 ? rng.pick(targets) : rng.pick(pop.merchants);
      const rate = perUsd(merchant.currency);
      const amount = Math.max(
        amountFor(rng, merchant, 4),
        Math.round(typicalUsd * rng.uniform(8, 15) * rate * 100) / 100,
      );
      out.push({
        ts_ms: at + i * rng.int(1, 4) * MINUTE_MS,
        user_id: userId,
        merchant_id: merchant.id,
        amount: Math.min(amount, 9e8),
        currency: merchant.currency,
        country,
        device_id: device,
        status: 'captured',
        metadata: { channel: 'web' },
        pattern: 'ato',
        anomaly: null,
      });
    }
  }
  return out;
}

/**
 * Merchant volume anomalies: one hour in which a merchant gets ≥ 5× its usual hourly volume
 * (at least 30 extra events) of legitimate-looking purchases from ordinary users.
 */
export function plantVolumeAnomalies(
  rng: Prng,
  pop: Population,
  base: readonly DraftEvent[],
  count: number,
  startMs: number,
  endMs: number,
): { events: DraftEvent[]; truth: AnomalyTruth[] } {
  const perMerchant = new Map<string, number>();
  for (const e of base) perMerchant.set(e.merchant_id, (perMerchant.get(e.merchant_id) ?? 0) + 1);
  const hours = (endMs - startMs) / HOUR_MS;
  const events: DraftEvent[] = [];
  const truth: AnomalyTruth[] = [];
  const picked = rng.sample(Math.min(pop.merchants.length, 40), count); // among the busier merchants
  picked.forEach((mi, i) => {
    const merchant = pop.merchants[mi]!;
    const baseline = (perMerchant.get(merchant.id) ?? 0) / hours;
    const extra = Math.max(30, Math.round(baseline * rng.uniform(5, 8)));
    const hourStart = startMs + rng.int(3, Math.max(3, Math.floor(hours) - 2)) * HOUR_MS;
    const id = `va-${i + 1}`;
    for (let k = 0; k < extra; k += 1) {
      const e = normalEvent(rng, pop.userPicker.pick(rng), merchant, hourStart + rng.int(0, HOUR_MS - 1));
      events.push({ ...e, anomaly: id });
    }
    truth.push({
      anomaly: id,
      merchant_id: merchant.id,
      start_ms: hourStart,
      end_ms: hourStart + HOUR_MS,
      extra_events: extra,
      baseline_per_hour: baseline,
    });
  });
  return { events, truth };
}
