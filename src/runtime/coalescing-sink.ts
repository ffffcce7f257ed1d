import type { OutputEffect } from './actor.ts';
import type { EffectSink } from './sink.ts';

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
 * Order: a call's effects stay in order and contiguous. Each partition's drain has at most one
 * call in flight, so its effects still leave in commit order; effects of different partitions
 * were never ordered relative to each other.
 * Failure: when a merged call fails, each caller's effects are performed again on their own, so
 * one partition's bad effect (a row the sink keeps refusing) fails only that partition's drain,
 * which retries it as before; the others are acknowledged. Repeats are harmless: sinks are
 * idempotent.
 */
export class CoalescingSink implements EffectSink {
  readonly #inner: EffectSink;
  readonly #maxEffects: number;
  #pending: Waiting[] = [];
  #running = false;

  /** `maxEffects`: upper bound of one merged call (a single larger call still goes whole). */
  constructor(inner: EffectSink, maxEffects = 5_000) {
    this.#inner = inner;
    this.#maxEffects = maxEffects;
  }

  perform(effects: readonly OutputEffect[]): Promise<void> {
    if (effects.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ effects, resolve, reject });
      if (this.#running) return;
      this.#running = true;
      // Not a microtask: drains released by several Redis replies of one socket read (or
      // several partitions of one fetch) are all queued before the first flush starts.
      setImmediate(() => void this.#loop());
    });
  }

  async #loop(): Promise<void> {
    while (this.#pending.length > 0) await this.#flush(this.#take());
    this.#running = false;
  }

  /** Whole calls, oldest first, up to `maxEffects` effects (at least one call). */
  #take(): Waiting[] {
    let count = 0;
    let n = 0;
    while (n < this.#pending.length && (n === 0 || count + this.#pending[n]!.effects.length <= this.#maxEffects)) {
      count += this.#pending[n]!.effects.length;
      n += 1;
    }
    return this.#pending.splice(0, n);
  }

  async #flush(group: readonly Waiting[]): Promise<void> {
    if (group.length > 1) {
      try {
        await this.#inner.perform(group.flatMap((w) => w.effects));
        for (const w of group) w.resolve();
        return;
      } catch {
        // Isolate the failure: each call alone, below.
      }
    }
    await Promise.all(group.map((w) => this.#inner.perform(w.effects).then(w.resolve, w.reject)));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
