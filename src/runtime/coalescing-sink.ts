import type { OutputEffect } from './actor.ts';
import { type EffectSink, performedBy, withPerformed } from './sink.ts';

interface Waiting {
  readonly effects: readonly OutputEffect[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit for the outbox drains of one worker: `perform` calls that arrive while a flush is
 * running (or in the same turn of the event loop) reach the inner sink as ONE call.
 *
 * Why: every partition drains its own outbox, so with 12 partitions and small live batches a
 * worker sent a Kafka produce request, a Cassandra batch and a Redis pipeline per partition and
 * per batch, each a few records long; the per-request work (on the broker and Cassandra as much as
 * in the clients) was a large share of the CPU per event. Merged, the requests carry what all
 * partitions committed meanwhile.
 *
 * Order: a call's effects stay in order and contiguous, in one merged call. Each partition's drain has at most one
 * call in flight, so its effects still leave in commit order; effects of different partitions
 * were never ordered relative to each other.
 * Failure: when a merged call fails, each caller's effects are performed again on their own, so
 * one partition's bad effect (a row the sink keeps refusing) fails only that partition's drain,
 * which retries it as before; the others are acknowledged. Repeats are harmless: sinks are
 * idempotent.
 */
export interface CoalescingOptions {
  /** Upper bound of one merged call (a single larger call still goes whole). */
  readonly maxEffects: number;
  /**
   * Merged calls in flight at once. A second one starts only while `parallelEffects` or more
   * effects wait: small live drains queue behind the running flush (that is the merging), while
   * a replay's large drains keep several flushes' I/O overlapping, as per-partition drains did.
   */
  readonly maxInFlight: number;
  readonly parallelEffects: number;
}

const DEFAULTS: CoalescingOptions = { maxEffects: 5_000, maxInFlight: 4, parallelEffects: 1_000 };

export class CoalescingSink implements EffectSink {
  readonly #inner: EffectSink;
  readonly #o: CoalescingOptions;
  #pending: Waiting[] = [];
  #pendingEffects = 0;
  #inFlight = 0;
  #scheduled = false;

  constructor(inner: EffectSink, options: Partial<CoalescingOptions> = {}) {
    this.#inner = inner;
    this.#o = { ...DEFAULTS, ...options };
  }

  perform(effects: readonly OutputEffect[]): Promise<void> {
    if (effects.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ effects, resolve, reject });
      this.#pendingEffects += effects.length;
      this.#schedule();
    });
  }

  /**
   * Starts flushes on the next turn of the event loop (not a microtask: drains released by
   * several Redis replies of one socket read, or several partitions of one fetch, are all
   * queued before a flush starts).
   */
  #schedule(): void {
    if (this.#scheduled || !this.#canStart()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#canStart()) void this.#run(this.#take());
    });
  }

  #canStart(): boolean {
    if (this.#pending.length === 0) return false;
    if (this.#inFlight === 0) return true;
    return this.#inFlight < this.#o.maxInFlight && this.#pendingEffects >= this.#o.parallelEffects;
  }

  async #run(group: readonly Waiting[]): Promise<void> {
    this.#inFlight += 1;
    try {
      await this.#flush(group);
    } finally {
      this.#inFlight -= 1;
      this.#schedule();
    }
  }

  /** Whole calls, oldest first, up to `maxEffects` effects (at least one call). */
  #take(): Waiting[] {
    let count = 0;
    let n = 0;
    while (n < this.#pending.length && (n === 0 || count + this.#pending[n]!.effects.length <= this.#o.maxEffects)) {
      count += this.#pending[n]!.effects.length;
      n += 1;
    }
    this.#pendingEffects -= count;
    return this.#pending.splice(0, n);
  }

  async #flush(group: readonly Waiting[]): Promise<void> {
    let done: ReadonlySet<OutputEffect> = new Set();
    if (group.length > 1) {
      try {
        await this.#inner.perform(group.flatMap((w) => w.effects));
        for (const w of group) w.resolve();
        return;
      } catch (err) {
        // Isolate the failure: each call alone, below, without what the merged call performed.
        done = performedBy(err);
      }
    }
    await Promise.all(
      group.map((w) => {
        const rest = done.size === 0 ? w.effects : w.effects.filter((e) => !done.has(e));
        if (rest.length === 0) return w.resolve();
        return this.#inner.perform(rest).then(w.resolve, (err: unknown) => w.reject(withPerformed(err, w.effects.filter((e) => done.has(e)))));
      }),
    );
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
