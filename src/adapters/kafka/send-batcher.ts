import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';

/** What one produce request carries. */
export type TopicMessages<M> = { readonly topic: string; readonly messages: M[] }[];

export interface SendBatcherOptions<M> {
  /** Wait this long for more sends when idle, so small requests share one produce request. */
  readonly lingerMs: number;
  /** Upper bound of messages per produce request (a caller's group is never split). */
  readonly maxBatchRecords: number;
  /** A caller waiting longer than this is rejected (its messages may still land later). */
  readonly sendTimeoutMs: number;
  /** One produce request; resolves only when every message is acknowledged. */
  readonly produce: (batch: TopicMessages<M>) => Promise<void>;
  readonly onFailure?: (err: unknown, groups: number) => void;
}

interface Group<M> {
  readonly topic: string;
  readonly messages: readonly M[];
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Producer-side batching, independent of the Kafka client (so it is unit-tested with a fake
 * `produce`). Callers' groups are collected while one produce request is in flight (or for
 * `lingerMs` when idle) and go out together; one request in flight at a time, as idempotent
 * kafkajs producers require.
 *
 * Invariant: a caller's promise resolves only after the produce request holding ALL its
 * messages resolved; a failure rejects every caller of that request; a caller that timed out
 * is rejected and never resolved later, even if its request eventually succeeds.
 */
export class SendBatcher<M> {
  readonly #o: SendBatcherOptions<M>;
  #pending: Group<M>[] = [];
  #pendingCount = 0;
  #inFlight = false;
  #lingerTimer: NodeJS.Timeout | undefined;
  /** Wall-clock ms of the last failed or timed-out send; 0 after a success. */
  lastFailureMs = 0;

  constructor(options: SendBatcherOptions<M>) {
    this.#o = options;
  }

  send(topic: string, messages: readonly M[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const group: Group<M> = {
        topic,
        messages,
        settled: false,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.lastFailureMs = Date.now();
          settle(group, unavailable('kafka send timed out'));
        }, this.#o.sendTimeoutMs),
      };
      this.#pending.push(group);
      this.#pendingCount += messages.length;
      this.#schedule();
    });
  }

  /** Resolves when nothing is pending or in flight. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight || this.#lingerTimer !== undefined) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #schedule(): void {
    if (this.#inFlight) return; // #flush drains the queue when the request in flight returns
    if (this.#pendingCount >= this.#o.maxBatchRecords || this.#o.lingerMs <= 0) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
      void this.#flush();
      return;
    }
    if (this.#lingerTimer !== undefined) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      if (!this.#inFlight) void this.#flush();
    }, this.#o.lingerMs);
  }

  async #flush(): Promise<void> {
    const batch = this.#take();
    if (batch.length === 0) return;
    this.#inFlight = true;
    try {
      const byTopic = new Map<string, M[]>();
      for (const g of batch) {
        const list = byTopic.get(g.topic);
        if (list) for (const m of g.messages) list.push(m);
        else byTopic.set(g.topic, [...g.messages]);
      }
      await this.#o.produce([...byTopic].map(([topic, messages]) => ({ topic, messages })));
      this.lastFailureMs = 0;
      for (const g of batch) settle(g);
    } catch (err) {
      this.lastFailureMs = Date.now();
      this.#o.onFailure?.(err, batch.length);
      for (const g of batch) settle(g, unavailable('kafka produce failed', err));
    } finally {
      this.#inFlight = false;
      if (this.#pending.length > 0) void this.#flush();
    }
  }

  /** Takes whole groups up to maxBatchRecords (at least one), dropping timed-out ones. */
  #take(): Group<M>[] {
    const taken: Group<M>[] = [];
    let size = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      const full = taken.length > 0 && size + next.messages.length > this.#o.maxBatchRecords;
      if (!next.settled && full) break;
      this.#pending.shift();
      this.#pendingCount -= next.messages.length;
      if (next.settled) continue;
      taken.push(next);
      size += next.messages.length;
    }
    return taken;
  }
}

function settle<M>(group: Group<M>, err?: Error): void {
  if (group.settled) return;
  group.settled = true;
  clearTimeout(group.timer);
  if (err) group.reject(err);
  else group.resolve();
}

export function unavailable(message: string, cause?: unknown): RiskstreamError {
  return new RiskstreamError(ErrorCodes.kafkaUnavailable, message, { retriable: true, cause });
}
