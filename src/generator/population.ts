import { type Prng, WeightedPicker } from './prng.ts';

/** Simulated world: users with home countries and devices, merchants with categories. */
export interface SimUser {
  readonly id: string;
  readonly home: string;
  readonly devices: string[];
  /** Relative activity (heavy-tailed: a few users buy a lot). */
  readonly activity: number;
  /** Multiplier on merchant basket sizes. */
  readonly spend: number;
  readonly favourites: number[];
}

export interface SimMerchant {
  readonly id: string;
  readonly category: Category;
  readonly country: string;
  readonly currency: string;
  readonly popularity: number;
}

export type Category = 'grocery' | 'restaurant' | 'fuel' | 'digital' | 'electronics' | 'travel';

/** Median basket (USD) and log-sigma per category. */
export const CATEGORY_AMOUNTS: Readonly<Record<Category, { median: number; sigma: number }>> = {
  grocery: { median: 35, sigma: 0.6 },
  restaurant: { median: 28, sigma: 0.5 },
  fuel: { median: 50, sigma: 0.35 },
  digital: { median: 12, sigma: 0.8 },
  electronics: { median: 240, sigma: 0.8 },
  travel: { median: 380, sigma: 0.7 },
};
const CATEGORIES = Object.keys(CATEGORY_AMOUNTS) as Category[];
const CATEGORY_WEIGHTS = [30, 25, 12, 15, 10, 8];

/** Countries with traffic share and local currency (units per USD for amounts). */
export const COUNTRIES: readonly { code: string; weight: number; currency: string; perUsd: number }[] = [
  { code: 'VN', weight: 22, currency: 'VND', perUsd: 25_000 },
  { code: 'SG', weight: 14, currency: 'SGD', perUsd: 1.35 },
  { code: 'ID', weight: 14, currency: 'IDR', perUsd: 16_000 },
  { code: 'MY', weight: 10, currency: 'MYR', perUsd: 4.7 },
  { code: 'TH', weight: 10, currency: 'THB', perUsd: 36 },
  { code: 'PH', weight: 8, currency: 'PHP', perUsd: 57 },
  { code: 'US', weight: 12, currency: 'USD', perUsd: 1 },
  { code: 'GB', weight: 5, currency: 'GBP', perUsd: 0.79 },
  { code: 'DE', weight: 5, currency: 'EUR', perUsd: 0.92 },
];
export const COUNTRY_BY_CODE = new Map(COUNTRIES.map((c) => [c.code, c]));

export interface Population {
  readonly users: SimUser[];
  readonly merchants: SimMerchant[];
  readonly userPicker: WeightedPicker<SimUser>;
  readonly merchantPicker: WeightedPicker<SimMerchant>;
  /** Fresh ids that look exactly like normal ones (ids must not leak fraud). */
  newUserId(): string;
  newDeviceId(): string;
}

/**
 * Ids are drawn from shuffled ranges so that an id tells nothing about how or when it was
 * created (fraud users and devices are indistinguishable by name). `entityPrefix` keeps the user
 * and device ids of separately generated runs apart (two runs' `u_000123` would be one person
 * to the actors and the graph).
 */
export function buildPopulation(rng: Prng, userCount: number, merchantCount: number, entityPrefix = ''): Population {
  const userIds = idPool(rng.fork('uid'), `${entityPrefix}u`, userCount * 2 + 1000);
  const deviceIds = idPool(rng.fork('did'), `${entityPrefix}d`, userCount * 4 + 4000);
  const countryPicker = new WeightedPicker(
    COUNTRIES,
    COUNTRIES.map((c) => c.weight),
  );
  const categoryPicker = new WeightedPicker(CATEGORIES, CATEGORY_WEIGHTS);
  const merchants: SimMerchant[] = Array.from({ length: merchantCount }, (_, i) => {
    const country = countryPicker.pick(rng);
    return {
      id: `m_${(i + 1).toString().padStart(4, '0')}`,
      category: categoryPicker.pick(rng),
      country: country.code,
      currency: country.currency,
      popularity: 1 / (i + 1) ** 0.8 + 0.002, // Zipf-like
    };
  });
  const merchantPicker = new WeightedPicker(
    merchants,
    merchants.map((m) => m.popularity),
  );
  const users: SimUser[] = Array.from({ length: userCount }, () => {
    const home = countryPicker.pick(rng).code;
    const local = merchants.map((m, i) => (m.country === home ? i : -1)).filter((i) => i >= 0);
    const favourites = Array.from({ length: rng.int(3, 8) }, () =>
      local.length > 0 && rng.chance(0.8) ? rng.pick(local) : merchants.indexOf(merchantPicker.pick(rng)),
    );
    return {
      id: userIds.next(),
      home,
      devices: Array.from({ length: rng.chance(0.3) ? 2 : 1 }, () => deviceIds.next()),
      activity: rng.logNormal(1, 0.9),
      spend: rng.logNormal(1, 0.4),
      favourites,
    };
  });
  return {
    users,
    merchants,
    userPicker: new WeightedPicker(
      users,
      users.map((u) => u.activity),
    ),
    merchantPicker,
    newUserId: () => userIds.next(),
    newDeviceId: () => deviceIds.next(),
  };
}

function idPool(rng: Prng, prefix: string, size: number): { next(): string } {
  const order = rng.sample(size, size);
  let used = 0;
  return {
    next() {
      if (used >= order.length) throw new Error(`id pool ${prefix} exhausted`);
      return `${prefix}_${order[used++]!.toString().padStart(6, '0')}`;
    },
  };
}
