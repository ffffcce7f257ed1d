import type { PaymentStatus } from '../contract/event.ts';
import {
  CATEGORY_AMOUNTS,
  COUNTRY_BY_CODE,
  type Population,
  type SimMerchant,
  type SimUser,
} from './population.ts';
import type { Prng } from './prng.ts';
import { WeightedPicker } from './prng.ts';
import type { DraftEvent } from './types.ts';

/** Relative traffic per UTC hour: quiet nights, lunch and evening peaks. */
export const HOURLY_RHYTHM: readonly number[] = [
  0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 0.9, 1.0, 1.05, 1.2, 1.4, 1.3, 1.1, 1.0, 1.05, 1.2, 1.45, 1.6,
  1.5, 1.2, 0.8, 0.45,
];
const MAX_RHYTHM = Math.max(...HOURLY_RHYTHM);
const HOUR_MS = 3_600_000;
const STATUS = new WeightedPicker<PaymentStatus>(
  ['captured', 'authorized', 'failed', 'refunded'],
  [55, 35, 7, 3],
);
const CHANNELS = new WeightedPicker(['app', 'web', 'pos'], [50, 30, 20]);

/** A timestamp in [startMs, endMs) following the daily rhythm (rejection sampling). */
export function rhythmicTime(rng: Prng, startMs: number, endMs: number): number {
  for (;;) {
    const t = Math.floor(rng.uniform(startMs, endMs));
    const hour = Math.floor((t % (24 * HOUR_MS)) / HOUR_MS);
    if (rng.next() * MAX_RHYTHM < HOURLY_RHYTHM[hour]!) return t;
  }
}

/** Amount in the merchant's currency, rounded to its minor unit. */
export function amountFor(rng: Prng, merchant: SimMerchant, usdMultiplier: number): number {
  const { median, sigma } = CATEGORY_AMOUNTS[merchant.category];
  const usd = Math.min(50_000, rng.logNormal(median, sigma) * usdMultiplier);
  const perUsd = COUNTRY_BY_CODE.get(merchant.country)?.perUsd ?? 1;
  const local = usd * perUsd;
  return perUsd >= 100
    ? Math.max(1, Math.round(local / 100) * 100)
    : Math.max(0.01, Math.round(local * 100) / 100);
}

/** One ordinary purchase by `user` at `merchant` at `ts`. */
export function normalEvent(rng: Prng, user: SimUser, merchant: SimMerchant, ts: number): DraftEvent {
  const channel = CHANNELS.pick(rng);
  // Point of sale happens where the merchant is; online, the user is usually at home.
  const country = channel === 'pos' || !rng.chance(0.97) ? merchant.country : user.home;
  return {
    ts_ms: ts,
    user_id: user.id,
    merchant_id: merchant.id,
    amount: amountFor(rng, merchant, user.spend),
    currency: merchant.currency,
    country,
    ...(channel === 'pos' ? {} : { device_id: rng.pick(user.devices) }),
    status: STATUS.pick(rng),
    metadata: { channel },
    pattern: null,
    anomaly: null,
  };
}

/** `count` ordinary events spread over the period with the daily rhythm. */
export function baseTraffic(
  rng: Prng,
  pop: Population,
  count: number,
  startMs: number,
  endMs: number,
): DraftEvent[] {
  const out: DraftEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    const user = pop.userPicker.pick(rng);
    const merchant = rng.chance(0.85)
      ? pop.merchants[rng.pick(user.favourites)]!
      : pop.merchantPicker.pick(rng);
    out.push(normalEvent(rng, user, merchant, rhythmicTime(rng, startMs, endMs)));
  }
  return out;
}
