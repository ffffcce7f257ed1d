import type { ActorHost } from './host.ts';
import type { Logger } from './logger.ts';
import { type FlowControl, type Heartbeat, type InputRecord, offsetNumber } from './source.ts';
import { backoffMs, classifyInfrastructureFailure } from './supervisor.ts';

/** What the mailboxes need from the driver besides pause/resume. */
export interface MailboxControl extends FlowControl {
  /** Fetch the partition again from `offset` (its durable position). */
  seek(partition: number, offset: string): void;
  /** The process cannot go on (a `crash` verdict). */
  fatal(err: unknown): void;
}

export interface MailboxDeps<M> {
  readonly host: ActorHost<M>;
  readonly control: MailboxControl;
  /**
   * Records a partition's mailbox may hold: an offer that reaches it waits until the partition's
   * loop takes them (one fetched batch may land on top, so the bound is capacity + one batch).
   */
  readonly capacity: number;
  readonly logger: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Box {
  chunks: (readonly InputRecord[])[];
  count: number;
  running: Promise<void> | undefined;
  /** Offers waiting for room. */
  waiters: (() => void)[];
  /** Fenced: dropped and paused (by us) until the next assignment. */
  lost: boolean;
  attempt: number;
}

/**
 * Per-partition mailboxes between the driver's fetch loop and the host. The driver offers each
 * fetched batch and goes on fetching; one loop per partition hands the host everything queued
 * since its last step, as one batch.
 *
 * Why: kafkajs fetches again only after every batch of the previous fetch was handled, so when
 * the handler did the whole commit, each fetch waited for the slowest partition's Redis round
 * trips and a live event waited for a whole cycle of other partitions' work. Decoupled, a
 * partition's next records are fetched while it commits, and what arrived meanwhile is committed
 * together: batches grow with the load instead of the number of commits.
 *
 * Bounded: an offer that fills a mailbox to `capacity` records waits until the loop takes them,
 * so the driver's fetch loop stops (backpressure, never unbounded buffering) while the batch
 * being committed and the next one overlap. Pausing the partition instead wasted fetches:
 * kafkajs drops, decoded, whatever a fetch in flight brings for a partition paused meanwhile
 * (bench:runtime fell from ~64,000 to ~29,000 events/s). Failures keep the records and retry
 * them after a backoff (the host discards the task and re-claims, so nothing below the durable
 * position is applied twice); a seek or a loss of ownership drops them (the driver fetches from
 * the durable position, or the new owner does).
 */
export class Mailboxes<M> {
  readonly #deps: MailboxDeps<M>;
  readonly #boxes = new Map<number, Box>();
  readonly #sleep: (ms: number) => Promise<void>;
  #stopped = false;
  /** Bumped by every assignment; see #handle. */
  #generation = 0;

  constructor(deps: MailboxDeps<M>) {
    this.#deps = deps;
    this.#sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Records queued for a partition (tests, metrics). */
  depth(partition: number): number {
    return this.#boxes.get(partition)?.count ?? 0;
  }

  /** Resolves once every mailbox is empty and no batch is being handled (tests, stop). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#boxes.values()].map((box) => box.running).filter((r) => r !== undefined);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /**
   * Queues a fetched batch for its partition. Resolves at once while the mailbox has room, else
   * when its loop took the queue (or dropped it), calling `heartbeat` (the driver's liveness
   * signal) every second meanwhile: the wait can last a long batch.
   */
  async offer(partition: number, records: readonly InputRecord[], heartbeat?: Heartbeat): Promise<void> {
    if (this.#stopped || records.length === 0) return;
    const box = this.#box(partition);
    if (box.lost) return;
    box.chunks.push(records);
    box.count += records.length;
    box.running ??= this.#run(partition, box);
    while (box.count >= this.#deps.capacity && !this.#stopped && !box.lost) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        box.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await heartbeat?.().catch(() => undefined);
    }
  }

  /**
   * A new assignment: queued records of partitions no longer assigned are dropped (their new
   * owner reads them from the durable position), fenced partitions are resumed, then the host
   * claims.
   */
  async onAssignment(partitions: readonly number[]): Promise<void> {
    this.#generation += 1;
    const next = new Set(partitions);
    for (const [partition, box] of this.#boxes) {
      if (!next.has(partition)) this.#drop(box);
      if (box.lost) this.#deps.control.resume(partition);
      box.lost = false;
      box.attempt = 0;
    }
    await this.#deps.host.onAssignment(partitions);
  }

  /** Drops everything queued and waits for the batches being handled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const box of this.#boxes.values()) this.#drop(box);
    await this.idle();
  }

  #box(partition: number): Box {
    let box = this.#boxes.get(partition);
    if (!box) {
      box = { chunks: [], count: 0, waiters: [], running: undefined, lost: false, attempt: 0 };
      this.#boxes.set(partition, box);
    }
    return box;
  }

  async #run(partition: number, box: Box): Promise<void> {
    try {
      while (!this.#stopped && box.count > 0) {
        const records = box.chunks.length === 1 ? box.chunks[0]! : box.chunks.flat();
        this.#drop(box);
        const waitMs = await this.#handle(partition, box, records);
        if (waitMs > 0 && box.count > 0) await this.#sleep(waitMs);
      }
    } finally {
      box.running = undefined;
    }
  }

  /** Hands one batch to the host; returns how long to wait before the next (0: at once). */
  async #handle(partition: number, box: Box, records: readonly InputRecord[]): Promise<number> {
    const { host, control, logger } = this.#deps;
    const generation = this.#generation;
    try {
      const outcome = await host.handleBatch(partition, records);
      box.attempt = 0;
      if (outcome.kind === 'lost' && generation !== this.#generation) {
        // Lost under an assignment that has been replaced while the batch ran. Pausing the
        // partition now would stall it until the next rebalance if it is ours again: then the
        // records go back to the queue for the new task (which seeks or skips as needed);
        // otherwise they are dropped (the new owner reads them from the durable position). The
        // host took the new assignment before its first await, so its view is current here.
        if (host.assigned.has(partition)) this.#requeue(box, records);
        else this.#drop(box);
        return 0;
      }
      if (outcome.kind === 'processed') {
        // Event-time alignment took only a prefix: the rest waits here instead of being fetched again.
        if (outcome.waitMs === undefined) return 0;
        this.#requeue(box, after(records, outcome.lastOffset));
        return outcome.waitMs;
      }
      this.#drop(box);
      if (outcome.kind === 'seek') {
        logger.info({ partition, offset: outcome.offset }, 'seeking to the durable position');
        control.seek(partition, outcome.offset);
      } else {
        // Fenced: another worker owns the partition now; fetch nothing until the next assignment.
        box.lost = true;
        control.pause(partition);
      }
      return 0;
    } catch (err) {
      if (classifyInfrastructureFailure(err) === 'crash') {
        this.#drop(box);
        control.fatal(err);
        return 0;
      }
      const delay = backoffMs(box.attempt);
      box.attempt += 1;
      logger.warn({ err, partition, attempt: box.attempt, delayMs: delay }, 'batch failed; retrying after a backoff');
      this.#requeue(box, records);
      return delay;
    }
  }

  #requeue(box: Box, records: readonly InputRecord[]): void {
    if (records.length === 0 || this.#stopped || box.lost) return;
    box.chunks.unshift(records);
    box.count += records.length;
  }

  #drop(box: Box): void {
    box.chunks = [];
    box.count = 0;
    const waiters = box.waiters;
    box.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The records after `lastOffset` (all of them when it is null). */
function after(records: readonly InputRecord[], lastOffset: string | null): readonly InputRecord[] {
  if (lastOffset === null) return records;
  const last = offsetNumber(lastOffset);
  let i = 0;
  while (i < records.length && offsetNumber(records[i]!.offset) <= last) i += 1;
  return records.slice(i);
}
