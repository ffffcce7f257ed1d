import type { CommitBatch, CommitResult, PartitionClaim, PartitionRef, StateStore, StoredPosition } from '../runtime/store.ts';

export interface StoreTiming {
  readonly events: number;
  /** performance.now() when the first batch asked the store anything, and when all were committed. */
  readonly firstAtMs: number;
  readonly doneAtMs: number;
}

/**
 * A StateStore decorator for the runtime benchmark: times every `commit` (the one atomic Redis
 * call per partition batch) and resolves `done()` once every partition's committed next offset
 * reached its target. The first `seen` call (the first thing a batch does) starts the clock, so
 * the group join is not counted, as for the raw consumer whose clock starts at its first batch.
 */
export class TimedStore implements StateStore {
  readonly commitMs: number[] = [];
  readonly #inner: StateStore;
  readonly #targets: ReadonlyMap<number, number>;
  readonly #committed = new Map<number, number>();
  #firstAtMs = 0;
  #events = 0;
  #resolve: ((timing: StoreTiming) => void) | undefined;
  #reject: ((err: unknown) => void) | undefined;
  #finished: StoreTiming | undefined;

  readonly #onFirst: () => void;

  /** `onFirst` runs when the clock starts (the first batch). */
  constructor(inner: StateStore, targets: ReadonlyMap<number, number>, onFirst: () => void = () => undefined) {
    this.#inner = inner;
    this.#targets = targets;
    this.#onFirst = onFirst;
  }

  /** Resolves when every partition is committed up to its target; rejects after `timeoutMs`. */
  done(timeoutMs: number): Promise<StoreTiming> {
    if (this.#finished) return Promise.resolve(this.#finished);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`runtime committed ${this.#events} events in ${timeoutMs} ms`)), timeoutMs);
      this.#resolve = (timing) => {
        clearTimeout(timer);
        resolve(timing);
      };
      this.#reject = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
  }

  fail(err: unknown): void {
    this.#reject?.(err);
  }

  claim(ref: PartitionRef): Promise<PartitionClaim> {
    return this.#inner.claim(ref);
  }

  positions(refs: readonly PartitionRef[]): Promise<(StoredPosition | null)[]> {
    return this.#inner.positions(refs);
  }

  loadStates(ref: PartitionRef, ids: readonly string[]): Promise<(string | null)[]> {
    return this.#inner.loadStates(ref, ids);
  }

  seen(ref: PartitionRef, ids: readonly string[]): Promise<boolean[]> {
    if (this.#firstAtMs === 0) {
      this.#firstAtMs = performance.now();
      this.#onFirst();
    }
    return this.#inner.seen(ref, ids);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const started = performance.now();
    const result = await this.#inner.commit(batch);
    this.commitMs.push(performance.now() - started);
    if (result.ok) this.#advance(batch);
    return result;
  }

  ackOutbox(ref: PartitionRef, epoch: number, uptoSeq: number): Promise<boolean> {
    return this.#inner.ackOutbox(ref, epoch, uptoSeq);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #advance(batch: CommitBatch): void {
    const next = Number(batch.nextOffset);
    this.#events += next - Number(batch.fromOffset);
    this.#committed.set(batch.ref.partition, next);
    if (this.#finished) return;
    for (const [partition, target] of this.#targets) {
      if ((this.#committed.get(partition) ?? 0) < target) return;
    }
    this.#finished = { events: this.#events, firstAtMs: this.#firstAtMs, doneAtMs: performance.now() };
    this.#resolve?.(this.#finished);
  }
}
