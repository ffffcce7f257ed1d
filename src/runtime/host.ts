import type { Pipeline } from './actor.ts';
import { ActorCache } from './actor-cache.ts';
import { type AlignmentSettings, EventTimeAlignment } from './alignment.ts';
import { CoalescingSink } from './coalescing-sink.ts';
import type { Logger } from './logger.ts';
import { PartitionTask, type TaskSettings } from './partition-task.ts';
import type { RuntimeMetrics } from './runtime-metrics.ts';
import type { EffectSink } from './sink.ts';
import { type BatchOutcome, type InputRecord, offsetNumber } from './source.ts';
import type { PartitionRef, StateStore } from './store.ts';

export interface HostSettings extends TaskSettings {
  /** A partition without input for this long is idle: its watermark may follow the others. */
  readonly idlePartitionMs: number;
  /** Upper bound of actor states kept in memory; beyond it the least recently used are dropped. */
  readonly maxActiveActors: number;
  /** ... and of their encoded bytes (actor-cache.ts); unbounded when absent. */
  readonly maxActiveStateBytes?: number;
  /** Event-time alignment, used when the pipeline's input asks for it and `endOffsets` is wired. */
  readonly alignment?: AlignmentSettings;
}

export interface HostDeps<M> {
  readonly pipeline: Pipeline<M>;
  readonly group: string;
  /** Physical input topic name (prefix applied). */
  readonly topic: string;
  readonly store: StateStore;
  readonly sink: EffectSink;
  readonly clock: () => number;
  readonly settings: HostSettings;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  /**
   * End offsets (next offset to be written) of the input's partitions. When given, the idle
   * policy advances only a partition with nothing left to read: one merely waiting for its
   * turn in a backlog (not fetched for a while during a catch-up) is not idle, and advancing it
   * would turn its backlog late (found by the e2e test).
   */
  readonly endOffsets?: () => Promise<ReadonlyMap<number, string>>;
}

/**
 * Hosts one pipeline's actors for the partitions this worker owns. The driver (Kafka adapter or
 * a test) reports assignments and hands over batches; the host serialises all work on one
 * partition (one writer per key follows from one writer per partition).
 */
export class ActorHost<M> {
  readonly #deps: HostDeps<M>;
  readonly #cache: ActorCache;
  readonly #tasks = new Map<number, PartitionTask<M>>();
  readonly #locks = new Map<number, Promise<unknown>>();
  /** Discarded tasks whose outbox drain is still finishing its round, by partition. */
  readonly #stopping = new Map<number, Promise<void>>();
  #assigned = new Set<number>();
  /** Partitions fenced away since the last assignment: never re-claimed until assigned again,
   *  so a zombie's leftover batches cannot steal a partition back from its new owner. */
  readonly #lost = new Set<number>();
  /**
   * Bumped by every assignment. A batch (or idle advance) that started under an older one and
   * finds its task fenced reports a loss of that assignment, not of the new one: the partition
   * may have come back meanwhile (claimed again at a higher epoch), and marking it lost then
   * would stall it until the next rebalance (found by test/fault/kafka-restart.test.ts: a batch
   * waiting for its outbox drain through a broker restart was refused after the rejoin).
   */
  #generation = 0;
  readonly #alignment: EventTimeAlignment | undefined;
  /** Every partition's outbox drains through this one sink: see CoalescingSink. */
  readonly #sink: EffectSink;

  constructor(deps: HostDeps<M>) {
    this.#deps = deps;
    this.#sink = new CoalescingSink(deps.sink);
    this.#cache = new ActorCache(deps.settings.maxActiveActors, deps.settings.maxActiveStateBytes);
    const { alignment } = deps.settings;
    const ends = deps.endOffsets;
    if (deps.pipeline.input.align && alignment && alignment.maxDriftMs > 0 && ends) {
      this.#alignment = new EventTimeAlignment({
        settings: alignment, clock: deps.clock, endOffsets: ends, logger: deps.logger,
        positions: (partitions) => deps.store.positions(partitions.map((partition) => ({ group: deps.group, topic: deps.topic, partition }))),
      });
    }
  }

  get assigned(): ReadonlySet<number> {
    return this.#assigned;
  }

  /** Partitions currently claimed, with their durable watermark. */
  claimed(): Map<number, { epoch: number; watermarkMs: number; nextOffset: string | null }> {
    return new Map([...this.#tasks].map(([p, t]) => [p, { epoch: t.epoch, watermarkMs: t.watermarkMs, nextOffset: t.nextOffset }]));
  }

  /**
   * New assignment after a rebalance: forget every partition's task (everything it did is
   * already committed) and claim the assigned ones at once, so a zombie predecessor is fenced
   * early and timers left by a crashed owner catch up even if no new input arrives.
   *
   * Kept partitions are claimed again too: this worker may have been away (frozen, cut off)
   * while another member claimed them, and a task still holding the old epoch would have every
   * commit refused — and, being marked lost, stall its partition until the next rebalance. A
   * claim costs one script call and the partition's cached states, once per rebalance.
   */
  async onAssignment(partitions: readonly number[]): Promise<void> {
    const next = new Set(partitions);
    const held = new Set([...this.#assigned, ...this.#tasks.keys()]);
    // Update membership before any await, so batches racing this call see the new assignment.
    this.#assigned = next;
    this.#generation += 1;
    this.#lost.clear();
    this.#deps.metrics.rebalances.inc({ pipeline: this.#deps.pipeline.name });
    await Promise.all([...held].map((p) => this.#withLock(p, async () => this.#forget(p))));
    // A partition that moved to another worker reports from there: its per-partition gauges
    // here would keep their last values (a watermark frozen in the past) on every dashboard.
    for (const p of held) if (!next.has(p)) this.#dropPartitionGauges(p);
    // Claims wait for each partition's lock: skip those an assignment since then took over,
    // and those a batch of this assignment already found claimed by another worker.
    const generation = this.#generation;
    const stillOurs = (p: number) => generation === this.#generation && !this.#lost.has(p);
    await Promise.all(
      [...next].map((p) =>
        this.#withLock(p, async () => {
          if (stillOurs(p)) await this.#ensureTask(p);
        }),
      ),
    );
  }

  handleBatch(partition: number, records: readonly InputRecord[]): Promise<BatchOutcome> {
    return this.#withLock(partition, async () => {
      // Never claim a partition this worker is not assigned: a batch of an older assignment
      // (retried or re-queued after a rebalance) would fence the partition's real owner.
      if (this.#lost.has(partition) || !this.#assigned.has(partition)) return { kind: 'lost' } as const;
      const generation = this.#generation;
      const task = await this.#ensureTask(partition);
      const limit = await this.#alignment?.limit(partition, task.maxEventTimeMs);
      // Already ahead: take nothing (the task itself always takes one record, to move).
      const ahead = limit !== undefined && task.maxEventTimeMs > limit.limitMs;
      try {
        let outcome: BatchOutcome = ahead
          ? { kind: 'processed', lastOffset: null, held: true }
          : await task.processBatch(records, limit);
        if (outcome.kind === 'processed' && outcome.held) {
          this.#deps.metrics.alignmentWaits.inc({ pipeline: this.#deps.pipeline.name });
          outcome = { kind: 'processed', lastOffset: outcome.lastOffset, waitMs: this.#deps.settings.alignment?.pauseMs ?? 0 };
        }
        if (outcome.kind === 'lost') this.#markLost(partition, generation);
        this.#cache.passivate();
        this.#deps.metrics.activeActors.set({ pipeline: this.#deps.pipeline.name }, this.#cache.size);
        this.#deps.metrics.activeStateBytes.set({ pipeline: this.#deps.pipeline.name }, this.#cache.bytes);
        return outcome;
      } catch (err) {
        // The task may have advanced in memory past what was committed: discard it and claim
        // again on the next attempt.
        this.#forget(partition);
        this.#deps.metrics.retries.inc({ pipeline: this.#deps.pipeline.name });
        throw err;
      }
    });
  }

  /**
   * Idle policy: a partition without input for `idlePartitionMs` (and, with `endOffsets`, with
   * nothing left to read) takes the highest watermark of this worker's partitions, so one quiet
   * partition does not hold its timers back forever.
   */
  async tickIdle(): Promise<void> {
    const now = this.#deps.clock();
    let target = Number.NEGATIVE_INFINITY;
    for (const task of this.#tasks.values()) target = Math.max(target, task.watermarkMs);
    const quiet = [...this.#tasks].filter(
      ([, task]) => now - task.lastInputAtMs >= this.#deps.settings.idlePartitionMs && task.hasTimers && task.watermarkMs < target,
    );
    if (quiet.length === 0) return;
    const ends = await this.#endOffsets();
    if (ends === null) return;
    for (const [p, task] of quiet) {
      const end = ends?.get(p);
      if (end !== undefined && offsetNumber(task.nextOffset ?? '0') < offsetNumber(end)) continue;
      await this.#withLock(p, async () => {
        const current = this.#tasks.get(p);
        if (!current) return;
        const generation = this.#generation;
        try {
          if (!(await current.advanceIdle(target))) this.#markLost(p, generation);
        } catch (err) {
          this.#forget(p);
          this.#deps.logger.warn({ err, partition: p }, 'idle advance failed; will retry');
        }
      });
    }
  }

  /**
   * Sets `input_lag_records` of every partition this worker holds: the input's end offset minus
   * the durable next offset (what is left to process, whether fetched or not). Kafka's committed
   * offsets say the same to outside tools, but only every 2 s and behind the durable position.
   */
  async reportLag(): Promise<void> {
    const ends = await this.#endOffsets();
    if (!ends) return;
    for (const [p, task] of this.#tasks) {
      const end = ends.get(p);
      if (end === undefined || task.nextOffset === null) continue;
      const lag = Math.max(0, offsetNumber(end) - offsetNumber(task.nextOffset));
      this.#deps.metrics.inputLagRecords.set({ pipeline: this.#deps.pipeline.name, partition: String(p) }, lag);
    }
  }

  /** The input's end offsets; undefined when not wired, null when they could not be read. */
  async #endOffsets(): Promise<ReadonlyMap<number, string> | undefined | null> {
    if (!this.#deps.endOffsets) return undefined;
    try {
      return await this.#deps.endOffsets();
    } catch (err) {
      this.#deps.logger.warn({ err }, 'end offsets unavailable; idle advance skipped');
      return null;
    }
  }

  /** Waits for running batches, lets committed effects drain, then drops every task. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.#locks.values()]);
    await Promise.allSettled([...this.#tasks.values()].map((task) => task.drainPending()));
    for (const p of [...this.#tasks.keys()]) this.#forget(p);
    await Promise.allSettled([...this.#stopping.values()]);
  }

  async #ensureTask(partition: number): Promise<PartitionTask<M>> {
    const existing = this.#tasks.get(partition);
    if (existing) return existing;
    // A discarded task of this partition may still be performing a drain round: let it settle,
    // so its effects and this claim's re-drain of the same entries never interleave.
    await this.#stopping.get(partition);
    const { pipeline, group, topic, store, clock, settings, metrics, logger } = this.#deps;
    const ref: PartitionRef = { group, topic, partition };
    const task = await PartitionTask.claim(
      { pipeline, topic, store, sink: this.#sink, cache: this.#cache, clock, settings, metrics, logger },
      ref,
    );
    this.#tasks.set(partition, task);
    return task;
  }

  /** Marks `partition` lost if no assignment came since `generation`; forgets its task anyway. */
  #markLost(partition: number, generation: number): void {
    if (generation === this.#generation) this.#lost.add(partition);
    this.#forget(partition);
  }

  #dropPartitionGauges(partition: number): void {
    const labels = { pipeline: this.#deps.pipeline.name, partition: String(partition) };
    const { watermarkMs, eventTimeLagMs, undrainedEffects, inputLagRecords } = this.#deps.metrics;
    for (const gauge of [watermarkMs, eventTimeLagMs, undrainedEffects, inputLagRecords]) gauge.remove(labels);
  }

  #forget(partition: number): void {
    const task = this.#tasks.get(partition);
    this.#tasks.delete(partition);
    this.#cache.dropPartition(partition);
    if (!task) return;
    const stopped = task.stop().catch(() => undefined);
    this.#stopping.set(partition, stopped);
    void stopped.then(() => {
      if (this.#stopping.get(partition) === stopped) this.#stopping.delete(partition);
    });
  }

  #withLock<T>(partition: number, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(partition) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#locks.set(partition, tail);
    void tail.then(() => {
      if (this.#locks.get(partition) === tail) this.#locks.delete(partition);
    });
    return run;
  }
}
