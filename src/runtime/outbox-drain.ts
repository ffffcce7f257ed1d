import type { OutputEffect } from './actor.ts';
import { type EffectSink, performedBy } from './sink.ts';
import type { OutboxEntry } from './store.ts';
import { backoffMs } from './supervisor.ts';

export interface OutboxDrainDeps {
  readonly sink: EffectSink;
  /** Acknowledges entries up to `seq` in the store; false when the partition was fenced. */
  readonly ack: (uptoSeq: number) => Promise<boolean>;
  /** After every successful drain round: how many entries and effects went out, and how long it took. */
  readonly onDrained?: (entries: readonly OutboxEntry[], seconds: number) => void;
  /** A failed round (the loop retries it after a backoff). */
  readonly onFailure?: (err: unknown, attempt: number) => void;
  /**
   * At most one acknowledgement per this many ms (0: after every round). Performed entries not
   * yet acknowledged are acknowledged by a timer, by the next round after the interval, or when
   * the drain is stopped or flushed; until then a crash re-drains them (harmless: sinks are
   * idempotent). Live batches are a few records each, and an ack per round was one of the four
   * Redis calls a partition batch cost.
   */
  readonly ackIntervalMs?: number;
}

/**
 * The outbox of one claimed partition, drained in the background.
 *
 * Committed entries are queued in commit (seq) order and performed by ONE loop, a round at a
 * time: a round performs every queued entry's effects in order, then acknowledges up to its
 * last seq. So effects leave in commit order and are acknowledged in order, while the partition
 * goes on decoding, stepping and committing the next batches (the caller bounds how far it runs
 * ahead with `waitUntilAtMost`). Nothing here is durable: every queued entry is still in the
 * store's outbox until acknowledged, so a crash, a failed round or a discarded task loses
 * nothing: the next claim returns the same entries and drains them again (sinks are idempotent).
 *
 * A failed round is retried in place with a backoff (same entries, and every entry queued since,
 * in order) until it succeeds or the drain is stopped; `failure` exposes the last error, so the
 * caller can bound how much it commits on a broken sink (partition-task.ts, settle). A refused
 * acknowledgement means another owner claimed the partition: the drain stops for good
 * (`fenced`).
 */
export class OutboxDrain {
  readonly #deps: OutboxDrainDeps;
  #queue: OutboxEntry[] = [];
  /** Entries handed to the running round, not yet acknowledged. */
  #inFlight = 0;
  #loop: Promise<void> | null = null;
  #stopped = false;
  #fenced = false;
  #failure: unknown = undefined;
  #waiters: (() => void)[] = [];
  /** Effects of the undrained entries: what they hold in memory is bounded by this too. */
  #effects = 0;
  #wakeBackoff: (() => void) | null = null;
  /** Highest seq performed, and highest acknowledged (0: none), and when the last ack went out. */
  #performedSeq = 0;
  #ackedSeq = 0;
  #lastAckAtMs = Number.NEGATIVE_INFINITY;
  #ackTimer: NodeJS.Timeout | undefined;
  #acking: Promise<void> | null = null;

  constructor(deps: OutboxDrainDeps, initial: readonly OutboxEntry[] = []) {
    this.#deps = deps;
    if (initial.length > 0) this.enqueue(...initial);
  }

  /** Committed entries not yet acknowledged (queued plus in the running round). */
  get undrained(): number {
    return this.#queue.length + this.#inFlight;
  }

  /** Effects of the committed entries not yet acknowledged. */
  get undrainedEffects(): number {
    return this.#effects;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  /** Stopped (the task is discarded, or fenced): no round will start again. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Resolves at the next change: a round performed or failed, the drain stopped or fenced (at
   * once when nothing is running).
   */
  changed(): Promise<void> {
    if (this.#loop === null || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The error of the last round if it failed and has not been retried successfully since. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Queues committed entries (in seq order, after every entry queued before). */
  enqueue(...entries: OutboxEntry[]): void {
    if (this.#stopped) return;
    for (const entry of entries) {
      this.#queue.push(entry);
      this.#effects += entry.effects.length;
    }
    this.#loop ??= this.#run();
  }

  /**
   * Resolves once at most `max` entries, holding at most `maxEffects` effects, are undrained
   * (an entry over it alone waits until it is drained), or the drain can make no more progress
   * (stopped, fenced or failing: the caller checks `fenced` and `failure`).
   */
  async waitUntilAtMost(max: number, maxEffects = Number.POSITIVE_INFINITY): Promise<void> {
    const over = () => this.undrained > max || (this.undrained > 0 && this.#effects > maxEffects);
    while (over() && this.#loop !== null && !this.#stopped && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Stops after the running round (never starts another) and resolves when it has settled, so a
   * new owner in this process does not perform the same entries concurrently, out of order.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeBackoff?.();
    this.#wake();
    await this.#loop;
    // What was performed is acknowledged, so that the next owner does not repeat it (refused,
    // harmlessly, if that owner has claimed already).
    await this.flushAck().catch(() => undefined);
  }

  /** Acknowledges every performed entry now (graceful stop, tests). Throws if the store fails. */
  async flushAck(): Promise<void> {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    while (!this.#fenced && this.#ackedSeq < this.#performedSeq) await this.#ack();
  }

  /** One acknowledgement of everything performed so far; at most one in flight. */
  #ack(): Promise<void> {
    this.#acking ??= (async () => {
      const upto = this.#performedSeq;
      this.#lastAckAtMs = performance.now();
      try {
        if (!(await this.#deps.ack(upto))) {
          this.#fenced = true;
          this.#stopped = true;
          this.#wake();
        } else if (upto > this.#ackedSeq) this.#ackedSeq = upto;
      } finally {
        this.#acking = null;
      }
    })();
    return this.#acking;
  }

  /**
   * After a round: acknowledge now, or leave it to a timer when the last ack was recent. Now
   * means flushAck, not one #ack: a timed ack of an older seq may be in flight, and waiting for
   * it alone would leave this round unacknowledged with no timer left to do it.
   */
  async #afterRound(): Promise<void> {
    const interval = this.#deps.ackIntervalMs ?? 0;
    const dueInMs = this.#lastAckAtMs + interval - performance.now();
    if (interval <= 0 || dueInMs <= 0) {
      await this.flushAck();
      return;
    }
    this.#ackTimer ??= setTimeout(() => {
      this.#ackTimer = undefined;
      // flushAck, not one #ack: an older ack may still be in flight (a slow store), and #ack
      // would only wait for it, leaving this round unacknowledged with no timer left; when
      // nothing follows, its entry stayed in the store's outbox (a CI flake of the zombie test:
      // "outbox 1" after everything was processed). A failed timed ack is retried by the next
      // round or the next flush; nothing is lost.
      this.flushAck().catch((err: unknown) => this.#deps.onFailure?.(err, 0));
    }, dueInMs);
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped && this.#queue.length > 0) {
      const round = this.#queue;
      this.#queue = [];
      this.#inFlight = round.length;
      try {
        const started = performance.now();
        await this.#deps.sink.perform(round.length === 1 ? round[0]!.effects : round.flatMap((e) => e.effects));
        this.#performedSeq = round[round.length - 1]!.seq;
        await this.#afterRound();
        this.#inFlight = 0;
        for (const entry of round) this.#effects -= entry.effects.length;
        attempt = 0;
        this.#failure = undefined;
        if (this.#fenced) break;
        this.#deps.onDrained?.(round, (performance.now() - started) / 1000);
      } catch (err) {
        // Put the round back in front: the retry performs the same effects in the same order
        // (repeating some is harmless: sinks are idempotent), except those the failed round
        // did perform (sink.ts, performedBy). An entry left with none stays, for its ack.
        const performed = performedBy(err);
        this.#queue = (performed.size === 0 ? round : round.map((entry) => this.#without(entry, performed))).concat(this.#queue);
        this.#inFlight = 0;
        this.#failure = err;
        this.#deps.onFailure?.(err, attempt);
        this.#wake();
        await this.#sleep(backoffMs(attempt));
        attempt += 1;
      }
      this.#wake();
    }
    this.#loop = null;
    this.#wake();
  }

  #without(entry: OutboxEntry, performed: ReadonlySet<OutputEffect>): OutboxEntry {
    const effects = entry.effects.filter((e) => !performed.has(e));
    this.#effects -= entry.effects.length - effects.length;
    return effects.length === entry.effects.length ? entry : { seq: entry.seq, effects };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeBackoff = () => {
        this.#wakeBackoff = null;
        done();
      };
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
