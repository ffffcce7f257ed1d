import type { Logger } from './logger.ts';
import { MIN_TIME_MS, type StoredPosition } from './store.ts';
import { offsetNumber } from './source.ts';

/**
 * Event-time alignment of one input's partitions, across every worker of the group.
 *
 * Why: when a backlog is replayed, Kafka hands partitions out at different speeds, and one
 * merchant partition can run hours of event time ahead of another. Windows do not care (each
 * partition has its own watermark), but what the pipeline emits downstream does: the re-keyed
 * per-user stream interleaves partitions in arrival order, so a user's 24 h features would see
 * a history with hours missing (the e2e test measured ~17-20% of user events so affected in a
 * replay). Holding back a partition that is far ahead of the slowest one with input left
 * bounds that skew by `maxDriftMs` of event time.
 *
 * Live traffic is never held: a partition whose event time is within `maxDriftMs` of the wall
 * clock is not replaying, and pausing it for a laggard (say, a partition whose worker died and
 * waits for the rebalance) would stop scoring every payment for a session timeout.
 *
 * The floor (lowest event-time position among the OTHER partitions that still have input) is
 * read from the state store, where every owner commits its position, so it spans workers; it
 * is cached for `refreshMs` per worker. A partition never committed counts as the lowest:
 * everything waits until it starts. The slowest partition is never held back by itself, and a
 * held partition always takes at least one record per batch, so the group always moves.
 */
export interface AlignmentSettings {
  /** Largest event-time lead over the slowest partition with input left; 0 disables. */
  readonly maxDriftMs: number;
  /** How long a floor read from the store is reused. */
  readonly refreshMs: number;
  /** How long a partition held back waits before it is fetched and checked again. */
  readonly pauseMs: number;
}

/**
 * Records with event time in (limitMs, liveFromMs) wait; live records (≥ liveFromMs) never do:
 * a partition that reached live time while another still replays keeps scoring payments.
 */
export interface AlignmentLimit {
  readonly limitMs: number;
  readonly liveFromMs: number;
}

/** Whether an event at `eventTimeMs` must wait under `limit`. */
export function heldBack(limit: AlignmentLimit, eventTimeMs: number): boolean {
  return eventTimeMs > limit.limitMs && eventTimeMs < limit.liveFromMs;
}

export interface AlignmentDeps {
  readonly settings: AlignmentSettings;
  readonly clock: () => number;
  /** Stored positions of the given partitions (null: never committed). */
  readonly positions: (partitions: readonly number[]) => Promise<readonly (StoredPosition | null)[]>;
  /** End offsets (next offset to be written) of every partition of the input. */
  readonly endOffsets: () => Promise<ReadonlyMap<number, string>>;
  readonly logger: Logger;
}

/** End offsets change with every write but matter only for "has input left": read them rarely. */
const END_OFFSETS_REFRESH_MS = 5_000;

interface Snapshot {
  readonly partitions: readonly number[];
  readonly ends: ReadonlyMap<number, string>;
  readonly positions: readonly (StoredPosition | null)[];
}

export class EventTimeAlignment {
  readonly #deps: AlignmentDeps;
  #snapshot: { value: Snapshot | undefined; readAtMs: number } | undefined;
  #ends: { value: ReadonlyMap<number, string>; readAtMs: number } | undefined;
  #reading: Promise<Snapshot | undefined> | undefined;

  constructor(deps: AlignmentDeps) {
    this.#deps = deps;
  }

  /**
   * How far `partition`, at `maxEventTimeMs`, may go on, or undefined when it is not limited
   * (alignment off, a live partition, or no other partition with input left). The bound is
   * the slowest OTHER partition's position + drift, so the slowest partition itself leaps up
   * to drift past the next one in a single batch instead of crawling in steps of its own.
   */
  async limit(partition: number, maxEventTimeMs: number): Promise<AlignmentLimit | undefined> {
    const { maxDriftMs } = this.#deps.settings;
    if (maxDriftMs <= 0) return undefined;
    const liveFromMs = this.#deps.clock() - maxDriftMs;
    if (maxEventTimeMs >= liveFromMs) return undefined; // live: never held
    const snapshot = await this.#read();
    const floor = snapshot && floorOf(snapshot.partitions, snapshot.ends, snapshot.positions, partition);
    // A replay that caught up with live time runs free.
    return floor === undefined || floor + maxDriftMs >= liveFromMs ? undefined : { limitMs: floor + maxDriftMs, liveFromMs };
  }

  /** The group's positions, at most `refreshMs` old; one read at a time per worker. */
  #read(): Promise<Snapshot | undefined> {
    const now = this.#deps.clock();
    if (this.#snapshot && now - this.#snapshot.readAtMs < this.#deps.settings.refreshMs) return Promise.resolve(this.#snapshot.value);
    this.#reading ??= this.#fetch().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #fetch(): Promise<Snapshot | undefined> {
    let value: Snapshot | undefined;
    try {
      const now = this.#deps.clock();
      if (!this.#ends || now - this.#ends.readAtMs >= END_OFFSETS_REFRESH_MS) this.#ends = { value: await this.#deps.endOffsets(), readAtMs: now };
      const ends = this.#ends.value;
      const partitions = [...ends.keys()];
      value = { partitions, ends, positions: await this.#deps.positions(partitions) };
    } catch (err) {
      // Alignment is an optimisation of replay quality: without positions, nothing waits.
      this.#deps.logger.warn({ err }, 'event-time alignment: positions unavailable; not holding back');
    }
    this.#snapshot = { value, readAtMs: this.#deps.clock() };
    return value;
  }
}

/**
 * The lowest stored event-time position among partitions (other than `except`) that still have
 * records to read; a never-committed partition with records counts as the lowest of all.
 * Pure; exported for tests.
 */
export function floorOf(
  partitions: readonly number[],
  ends: ReadonlyMap<number, string>,
  positions: readonly (StoredPosition | null)[],
  except?: number,
): number | undefined {
  let floor: number | undefined;
  partitions.forEach((partition, i) => {
    if (partition === except) return;
    const end = offsetNumber(ends.get(partition) ?? '0');
    const position = positions[i] ?? null;
    const next = position === null ? 0 : offsetNumber(position.nextOffset);
    if (next >= end) return; // caught up (or empty): nothing to wait for
    const at = position === null ? MIN_TIME_MS : position.maxEventTimeMs;
    if (floor === undefined || at < floor) floor = at;
  });
  return floor;
}
