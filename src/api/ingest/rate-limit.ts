/**
 * Per-key token buckets, measured in events (a 1,000-event batch costs 1,000). Pure: time is
 * passed in. Capacity is at least the largest batch so a valid batch can always pass eventually.
 */
export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until `cost` tokens are available (0 when allowed). */
  readonly retryAfterSec: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  readonly #burstSec: number;
  readonly #minCapacity: number;

  /** Capacity = max(minCapacity, rate × burstSec). */
  constructor(burstSec: number, minCapacity: number) {
    this.#burstSec = burstSec;
    this.#minCapacity = minCapacity;
  }

  take(key: string, ratePerSec: number, cost: number, nowMs: number): RateDecision {
    const capacity = Math.max(this.#minCapacity, ratePerSec * this.#burstSec);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: capacity, updatedMs: nowMs };
      this.#buckets.set(key, bucket);
    }
    const elapsedSec = Math.max(0, nowMs - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(capacity, bucket.tokens + elapsedSec * ratePerSec);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true, retryAfterSec: 0 };
    }
    return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((cost - bucket.tokens) / ratePerSec)) };
  }
}
