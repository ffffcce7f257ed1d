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
  /** Dropped (emptied) when the group settles: only the count stays. */
  messages: readonly M[];
  readonly count: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** Wall-clock ms after which the caller is rejected (send time + sendTimeoutMs). */
  readonly deadlineMs: number;
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
  /**
   * Every group not yet known settled, in send order, so deadlines ascend; from #head on. One
   * timer for the earliest deadline instead of a timer per caller: setting and clearing a timer
   * per HTTP request was ~2% of the API's CPU. Settled groups at the head are passed over after
   * every produce request, and a settled group holds no messages: before both, every record of
   * the last sendTimeoutMs (5 s) stayed reachable from here, ~300 bytes each, and the API ran
   * out of its 192 MiB heap within seconds at 95,000 events/s.
   */
  #waiting: Group<M>[] = [];
  #head = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** Wall-clock ms of the last failed or timed-out send; 0 after a success. */
  lastFailureMs = 0;

  constructor(options: SendBatcherOptions<M>) {
    this.#o = options;
  }

  send(topic: string, messages: readonly M[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const group: Group<M> = { topic, messages, count: messages.length, settled: false, resolve, reject, deadlineMs: Date.now() + this.#o.sendTimeoutMs };
      this.#waiting.push(group);
      if (this.#deadlineTimer === undefined) this.#armDeadline();
      this.#pending.push(group);
      this.#pendingCount += messages.length;
      this.#schedule();
    });
  }

  /** Groups sent and not yet settled (or settled behind an unsettled one). */
  get waitingGroups(): number {
    return this.#waiting.length - this.#head;
  }

  /** Times out every waiting group past its deadline, then sets the timer for the next one. */
  #armDeadline(): void {
    const now = Date.now();
    while (this.#head < this.#waiting.length) {
      const group = this.#waiting[this.#head] as Group<M>;
      if (!group.settled && group.deadlineMs > now) break;
      if (!group.settled) {
        this.lastFailureMs = now;
        settle(group, unavailable('kafka send timed out'));
      }
      this.#head += 1;
    }
    this.#compact();
    const next = this.#waiting[this.#head];
    if (next === undefined) {
      this.#deadlineTimer = undefined;
      return;
    }
    // unref: a timer for callers must not keep a closing process alive (their sockets do)
    this.#deadlineTimer = setTimeout(() => this.#armDeadline(), next.deadlineMs - now).unref();
  }

  /** Passes over settled groups at the head (after a produce request settled its callers). */
  #trim(): void {
    while (this.#head < this.#waiting.length && (this.#waiting[this.#head] as Group<M>).settled) this.#head += 1;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
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
      this.#trim();
      if (this.#pending.length > 0) void this.#flush();
    }
  }

  /** Takes whole groups up to maxBatchRecords (at least one), dropping timed-out ones. */
  #take(): Group<M>[] {
    const taken: Group<M>[] = [];
    let size = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      const full = taken.length > 0 && size + next.count > this.#o.maxBatchRecords;
      if (!next.settled && full) break;
      this.#pending.shift();
      this.#pendingCount -= next.count;
      if (next.settled) continue;
      taken.push(next);
      size += next.count;
    }
    return taken;
  }
}

function settle<M>(group: Group<M>, err?: Error): void {
  if (group.settled) return;
  group.settled = true;
  group.messages = [];
  if (err) group.reject(err);
  else group.resolve();
}

export function unavailable(message: string, cause?: unknown): RiskstreamError {
  return new RiskstreamError(ErrorCodes.kafkaUnavailable, message, { retriable: true, cause });
}
