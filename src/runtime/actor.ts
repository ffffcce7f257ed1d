/**
 * The actor API. An actor type is data plus a pure transition:
 *
 *   handle(state, message, ctx) → { state, effects }
 *
 * It may not read the clock, draw random numbers or do I/O. Time comes from the message (event
 * time) or from `ctx.watermarkMs`; everything the outside world should see is returned as an
 * effect, which the host performs after the new state is durably committed (outbox).
 */

/** Versioned state codec. `decode` receives the version the state was written with. */
export interface StateCodec<S> {
  readonly version: number;
  encode(state: S): string;
  /** Must accept every version ≤ `version` (migrate older shapes) and throw on newer ones. */
  decode(raw: string, version: number): S;
  /**
   * Optional, for big states of which a batch changes a small part: the state as a head and
   * named parts, which the runtime stores apart and writes only when their text changed since
   * the state's last commit (runtime/state-parts.ts). Names: non-empty, without ',' ':' or
   * U+0001. An unchanged part is best returned as the same string (compared by value).
   */
  encodeParts?(state: S): { readonly head: string; readonly parts: ReadonlyMap<string, string> };
  /** Inverse of `encodeParts` (parts in the head's order); versions as for `decode`. */
  decodeParts?(head: string, parts: ReadonlyMap<string, string>, version: number): S;
}

/**
 * `beforeCommit: true` on an emit or an upsert: performed right after the step that produced
 * it and before the batch's commit, instead of from the outbox after the commit. At least once:
 * a failed or refused commit re-runs the batch from the durable state and performs it again;
 * never stored in the outbox. Allowed only for effects whose sink is idempotent (for an emit:
 * whose consumers drop repeats by id) and whose value is a function of the durable state and
 * the input (a zombie's then equal the owner's). What it buys: the effect is out one commit
 * earlier (a live score is visible before the user's state is committed), and the outbox does
 * not carry it through Redis and back.
 */
export type BeforeCommit = { readonly beforeCommit?: boolean };

/** Emit a record to a Kafka topic. `topic` is the logical name; the host applies the prefix. */
export interface EmitEffect extends BeforeCommit {
  readonly type: 'emit';
  readonly topic: string;
  readonly key: string;
  readonly value: string;
}

/**
 * Upsert a row into a named sink (Cassandra table). Sinks must be idempotent: re-running the
 * same upsert after a crash overwrites the same key with the same value.
 */
export interface UpsertEffect extends BeforeCommit {
  readonly type: 'upsert';
  readonly sink: string;
  readonly row: Readonly<Record<string, unknown>>;
  /**
   * Optional: exactly `JSON.stringify(row)`, when the actor has it anyway (for example because it
   * emits the same record). The outbox and JSON sinks reuse it instead of serialising the row
   * again; an emit whose `value` is this same string is stored once in the outbox.
   */
  readonly json?: string;
}

/** Schedule an event-time timer for this actor: `onTimer` runs once the watermark reaches `atMs`. */
export interface TimerEffect {
  readonly type: 'timer';
  readonly atMs: number;
  readonly tag: string;
}

export type Effect = EmitEffect | UpsertEffect | TimerEffect;
/** Effects that leave the process (the outbox carries these). */
export type OutputEffect = EmitEffect | UpsertEffect;

export interface Transition<S> {
  readonly state: S;
  readonly effects: readonly Effect[];
}

/** Read-only facts about where a message sits. */
export interface HandleContext {
  readonly key: string;
  readonly partition: number;
  readonly offset: string;
  /** The partition's watermark before this message. */
  readonly watermarkMs: number;
}

export interface TimerFire {
  readonly tag: string;
  readonly atMs: number;
}

export interface TimerContext {
  readonly key: string;
  readonly partition: number;
  readonly watermarkMs: number;
}

/**
 * One actor type. `M` is the decoded input message shared by every actor type on the same input
 * topic (the host decodes each record once).
 */
export interface ActorType<S, M> {
  /** Stable name; part of every state key. Never rename a deployed actor type. */
  readonly name: string;
  /** Which actor instance a message belongs to. `undefined` skips this actor type. */
  keyOf(message: M): string | undefined;
  initialState(key: string): S;
  readonly codec: StateCodec<S>;
  handle(state: S, message: M, ctx: HandleContext): Transition<S>;
  onTimer?(state: S, timer: TimerFire, ctx: TimerContext): Transition<S>;
  /**
   * Stateless actors (for example the re-keyer) keep no state: the host neither loads nor stores
   * one, which keeps them free.
   */
  readonly stateless?: boolean;
}

/** How the host reads an input topic: decoding, dedup identity, event time. */
export interface InputSpec<M> {
  /** Logical topic name (the host applies the configured prefix). */
  readonly topic: string;
  /** Throws on bytes that are not a valid message; the record is dead-lettered as invalid. */
  decode(value: Buffer): M;
  /**
   * Dedup identity: a message whose id was already seen within the horizon is skipped. Absent:
   * no dedup marks at all, for inputs whose effects are idempotent by themselves (the history
   * writer's rows), so a repeat costs a rewrite of the same cells and no mark per record.
   */
  idOf?(message: M): string;
  eventTimeOf(message: M): number;
  /**
   * What to do with events older than the partition watermark. `dlq` (default) routes them to
   * the late dead-letter topic. `accept` is for re-keyed topics, whose order is shuffled by
   * re-publishing: lateness was already decided upstream.
   */
  readonly late?: 'dlq' | 'accept';
  /**
   * Hold partitions that replay far ahead of the slowest one (event-time alignment, see
   * runtime/alignment.ts), for pipelines whose outputs are merged downstream in arrival order.
   */
  readonly align?: boolean;
  /**
   * How long a fetch of this input may wait for data, for pipelines that trade latency for
   * larger batches (a history writer); absent: the worker's kafka.fetchMinBytes/fetchMaxWaitMs.
   */
  readonly fetch?: { readonly minBytes: number; readonly maxWaitMs: number };
}

/** A runnable unit: one input topic and the actor types fed by it. */
export interface Pipeline<M> {
  readonly name: string;
  readonly input: InputSpec<M>;
  readonly actors: readonly ActorType<unknown, M>[];
}

/** Erases an actor's state type so actors with different states share one list. */
export function erase<S, M>(actor: ActorType<S, M>): ActorType<unknown, M> {
  return actor as unknown as ActorType<unknown, M>;
}

/** A JSON codec for plain-data state with an optional migration from older versions. */
export function jsonCodec<S>(version: number, migrate?: (old: unknown, from: number) => S): StateCodec<S> {
  return {
    version,
    encode: (state) => JSON.stringify(state),
    decode: (raw, from) => {
      if (from > version) throw new Error(`state version ${from} is newer than this code (${version})`);
      const parsed: unknown = JSON.parse(raw);
      if (from === version) return parsed as S;
      if (!migrate) throw new Error(`no migration from state version ${from} to ${version}`);
      return migrate(parsed, from);
    },
  };
}

/**
 * A re-keyer: republishes every accepted message to `toTopic` keyed by `keyOf`, so a downstream
 * pipeline owns those keys. Re-publishing after a crash can duplicate; downstream dedup by id.
 *
 * Its emits are `beforeCommit`: they carry every event, and through the outbox each one was
 * written to Redis, read back and trimmed (the bulk of the merchant pipeline's outbox bytes),
 * and reached the downstream pipeline only after the commit and the drain. Emitted before the
 * commit, a repeat after a failure is the same kind of duplicate as an outbox re-drain; and the
 * step is deterministic from the durable state, so even a zombie's emits are records the owner
 * emits too.
 */
export function rekeyer<M>(name: string, toTopic: string, keyOf: (m: M) => string | undefined, encode: (m: M) => string): ActorType<unknown, M> {
  return {
    name,
    stateless: true,
    keyOf,
    initialState: () => null,
    codec: jsonCodec(1),
    handle: (state, message, ctx) => ({
      state,
      effects: [{ type: 'emit', topic: toTopic, key: ctx.key, value: encode(message), beforeCommit: true }],
    }),
  };
}
