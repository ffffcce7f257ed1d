/**
 * Admission control of the ingest routes: a budget of request bytes in flight (from arrival to
 * the answer). Past it a request is turned away at once with 503 and Retry-After, before its body
 * is read: overload costs the clients a retry instead of costing the API its heap. Without it a
 * sustained rate above what Kafka acknowledged piled requests up until the 192 MiB heap ran out
 * (k6 at 20,000 events/s in batches beside the broker on 2 cores: the API died after ~90 s).
 *
 * An idle API admits any one request (a body at the body limit always gets through alone).
 */
export class InFlightBudget {
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** True if admitted; the caller must `release` the same cost exactly once when done. */
  tryAdmit(cost: number): boolean {
    if (this.#bytes > 0 && this.#bytes + cost > this.#maxBytes) return false;
    this.#bytes += cost;
    return true;
  }

  release(cost: number): void {
    this.#bytes = Math.max(0, this.#bytes - cost);
  }
}

/** What a request costs the budget: its declared length, or the body limit when it declares none. */
export function requestCost(contentLength: string | undefined, bodyLimitBytes: number): number {
  const n = contentLength === undefined ? Number.NaN : Number(contentLength);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, bodyLimitBytes) : bodyLimitBytes;
}
