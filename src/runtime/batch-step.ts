import type { ActorType, Effect, OutputEffect, Pipeline, Transition } from './actor.ts';
import type { ActorCache } from './actor-cache.ts';
import { deadLetterEffect, DlqTopics } from './dead-letter.ts';
import { ErrorCodes } from './errors.ts';
import type { DedupMark, StateWrite, StoredTimer } from './store.ts';
import { parseTimerId, stateId, timerId } from './store.ts';
import { classifyHandlerFailure } from './supervisor.ts';
import type { TimerIndex } from './timer-index.ts';
import type { InputRecord } from './source.ts';
import { type Baselines, isParted, partedWrites } from './state-parts.ts';

/**
 * One partition batch, computed in memory: the deterministic heart of the runtime. Given the
 * records (in offset order), the dedup answers and loaded states, it runs every actor, advances
 * the watermark, fires due timers and returns everything the atomic commit needs. It performs
 * no I/O, so the host can throw the whole result away if the commit is refused.
 */
export interface DecodedItem<M> {
  readonly record: InputRecord;
  readonly message?: M;
  readonly id?: string;
  readonly eventTimeMs?: number;
  readonly error?: Error;
}

export interface StepInput<M> {
  readonly pipeline: Pipeline<M>;
  readonly topic: string;
  readonly items: readonly DecodedItem<M>[];
  /**
   * Dedup status by id: true for ids already seen (the store's marks). The step sets the ids it
   * accepts to true, so a repeat later in the same batch is a duplicate too: one map lookup per
   * record instead of a lookup in the store's answer plus one in a set of this batch's ids.
   */
  readonly dedup: Map<string, boolean>;
  /**
   * The states this step starts from, by state id (taken from the cache or loaded from the
   * store). Ids not in it are looked up in the cache, else start from the initial state.
   */
  readonly loaded?: ReadonlyMap<string, unknown>;
  /**
   * Optional, per item and actor (index `item * actors.length + actor`): the actor's key and
   * state id for the item's message, computed once by the caller (it needs them to load the
   * states), so the same id strings (hashes already computed) flow through step and commit.
   */
  readonly keys?: readonly (string | undefined)[];
  readonly stateIds?: readonly (string | undefined)[];
  readonly cache: ActorCache;
  readonly timers: TimerIndex;
  readonly partition: number;
  readonly maxEventTimeMs: number;
  readonly watermarkMs: number;
  readonly allowedLatenessMs: number;
  readonly handlerRetries: number;
  readonly nowMs: number;
}

export interface StepOutput {
  readonly states: Map<string, unknown>;
  readonly dedup: DedupMark[];
  readonly timersAdd: StoredTimer[];
  readonly timersRemove: string[];
  readonly effects: OutputEffect[];
  /** `beforeCommit` emits and upserts: performed before the commit, not part of the outbox. */
  readonly beforeCommit: OutputEffect[];
  readonly maxEventTimeMs: number;
  readonly watermarkMs: number;
  readonly counts: { processed: number; duplicate: number; late: number; invalid: number; failed: number; timers: number };
  readonly actorMessages: Map<string, number>;
}

export function runBatchStep<M>(input: StepInput<M>): StepOutput {
  const out: StepOutput = {
    states: new Map(),
    dedup: [],
    timersAdd: [],
    timersRemove: [],
    effects: [],
    beforeCommit: [],
    maxEventTimeMs: input.maxEventTimeMs,
    watermarkMs: input.watermarkMs,
    counts: { processed: 0, duplicate: 0, late: 0, invalid: 0, failed: 0, timers: 0 },
    actorMessages: new Map(),
  };
  const state = { maxEt: input.maxEventTimeMs, wm: input.watermarkMs };
  const lateMode = input.pipeline.input.late ?? 'dlq';
  const actors = input.pipeline.actors;
  const handled = new Array<number>(actors.length).fill(0);
  const { items, dedup } = input;
  const dedupById = input.pipeline.input.idOf !== undefined;
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index]!;
    if (item.error || item.message === undefined || (dedupById && item.id === undefined) || item.eventTimeMs === undefined) {
      out.counts.invalid += 1;
      out.effects.push(letter(input, item, DlqTopics.invalid, ErrorCodes.decodeFailed, item.error));
      continue;
    }
    const et = item.eventTimeMs;
    if (lateMode === 'dlq' && et < state.wm) {
      out.counts.late += 1;
      out.effects.push(
        deadLetterEffect({
          topic: input.topic, record: item.record, dlqTopic: DlqTopics.late, code: ErrorCodes.lateEvent,
          reason: `event time ${et} is behind the watermark ${state.wm}`, eventTimeMs: et, watermarkMs: state.wm, nowMs: input.nowMs,
        }),
      );
      continue;
    }
    if (item.id !== undefined) {
      if (dedup.get(item.id) === true) {
        out.counts.duplicate += 1;
        continue;
      }
      dedup.set(item.id, true);
      // A re-keyed input (late: 'accept') interleaves upstream partitions that can be hours apart
      // in event time, so a republished duplicate may come far below this partition's watermark:
      // its marks are scored (and pruned) by processing time instead (see dedupPruneBelow).
      // An ordered input's mark is the item itself (it has the id and event time): one object
      // fewer per record.
      out.dedup.push(lateMode === 'accept' ? { id: item.id, eventTimeMs: input.nowMs } : (item as DedupMark));
    }
    out.counts.processed += 1;
    for (let a = 0; a < actors.length; a += 1) {
      const at = index * actors.length + a;
      if (runActor(input, out, actors[a]!, item, state.wm, input.keys?.[at], input.stateIds?.[at])) handled[a]! += 1;
    }
    if (et > state.maxEt) {
      state.maxEt = et;
      state.wm = Math.max(state.wm, et - input.allowedLatenessMs);
    }
  }
  for (let a = 0; a < actors.length; a += 1) if (handled[a]! > 0) out.actorMessages.set(actors[a]!.name, handled[a]!);
  out.counts.timers += fireDueTimers(input, out, state.wm);
  Object.assign(out, { maxEventTimeMs: state.maxEt, watermarkMs: state.wm });
  return out;
}

/** Fires every timer due at `watermarkMs`, including ones scheduled by timers that just fired. */
export function fireDueTimers<M>(input: StepInput<M>, out: StepOutput, watermarkMs: number): number {
  let fired = 0;
  for (let due = input.timers.popDue(watermarkMs); due.length > 0; due = input.timers.popDue(watermarkMs)) {
    for (const timer of due) {
      fired += 1;
      out.timersRemove.push(timer.id);
      const { actorType, key, tag } = parseTimerId(timer.id);
      const actor = input.pipeline.actors.find((a) => a.name === actorType);
      if (!actor?.onTimer) continue;
      const id = stateId(actor.name, key);
      const current = currentState(input, out, actor, key, id);
      const ctx = { key, partition: input.partition, watermarkMs };
      const transition = actor.onTimer(current, { tag, atMs: timer.atMs }, ctx);
      apply(input, out, actor, key, id, transition);
    }
  }
  return fired;
}

/** Runs one actor on an accepted message; true when it handled it (false: not its message, or failed). */
function runActor<M>(
  input: StepInput<M>, out: StepOutput, actor: ActorType<unknown, M>, item: DecodedItem<M>, wm: number,
  knownKey: string | undefined, knownId: string | undefined,
): boolean {
  const message = item.message as M;
  const key = knownKey ?? actor.keyOf(message);
  if (key === undefined) return false;
  const id = knownId ?? stateId(actor.name, key);
  const current = actor.stateless ? null : currentState(input, out, actor, key, id);
  const ctx = { key, partition: input.partition, offset: item.record.offset, watermarkMs: wm };
  for (let attempt = 0; ; attempt += 1) {
    try {
      const transition = actor.handle(current, message, ctx);
      apply(input, out, actor, key, id, transition);
      return true;
    } catch (err) {
      if (classifyHandlerFailure(attempt, input.handlerRetries) === 'retry') continue;
      out.counts.failed += 1;
      out.effects.push(letter(input, item, DlqTopics.processing, ErrorCodes.handlerFailed, err, actor.name));
      return false;
    }
  }
}

function currentState<M>(input: StepInput<M>, out: StepOutput, actor: ActorType<unknown, M>, key: string, id: string): unknown {
  // One lookup in the common case; `undefined` is also a state (deleted), hence the has().
  const written = out.states.get(id);
  if (written !== undefined || out.states.has(id)) return written;
  const loaded = input.loaded?.get(id);
  if (loaded !== undefined || input.loaded?.has(id)) return loaded;
  // Peek: every state the step reads is written to out.states and re-set (made most recent)
  // in the cache after the commit, so touching it here would only reorder the map twice.
  const cached = input.cache.peek(input.partition, id);
  return cached === undefined ? actor.initialState(key) : cached;
}

function apply<M>(input: StepInput<M>, out: StepOutput, actor: ActorType<unknown, M>, key: string, id: string, transition: Transition<unknown>): void {
  if (!actor.stateless) out.states.set(id, transition.state);
  for (const effect of transition.effects as readonly Effect[]) {
    if (effect.type === 'timer') {
      const tid = timerId(actor.name, key, effect.tag);
      input.timers.set(tid, effect.atMs);
      out.timersAdd.push({ id: tid, atMs: effect.atMs });
    } else if (effect.beforeCommit === true) {
      out.beforeCommit.push(effect);
    } else {
      out.effects.push(effect);
    }
  }
}

function letter<M>(input: StepInput<M>, item: DecodedItem<M>, dlqTopic: string, code: string, err: unknown, actorType?: string): OutputEffect {
  const error = err instanceof Error ? err : new Error(String(err ?? 'undecodable record'));
  return deadLetterEffect({
    topic: input.topic, record: item.record, dlqTopic, code, reason: error.message, errorClass: error.name,
    ...(actorType === undefined ? {} : { actorType }),
    ...(item.eventTimeMs === undefined ? {} : { eventTimeMs: item.eventTimeMs }),
    nowMs: input.nowMs,
  });
}

/** Encodes a state for the store: `v<codec version>:<payload>`. */
export function encodeState<S, M>(actor: ActorType<S, M>, state: S): string {
  return `v${actor.codec.version}:${actor.codec.encode(state)}`;
}

/**
 * The store writes of a step's states. States of actors with parted codecs are written as parts
 * against `baselines` (state-parts.ts; without it, whole); `committed` receives the baseline
 * each leaves, for the caller to keep once the commit succeeded.
 */
export function toStateWrites<M>(
  pipeline: Pipeline<M>, states: Map<string, unknown>, baselines?: ReadonlyMap<string, ReadonlyMap<string, string>>, committed?: Baselines,
  sizes?: Map<string, number>,
): StateWrite[] {
  const writes: StateWrite[] = [];
  const only = pipeline.actors.length === 1 ? pipeline.actors[0] : undefined;
  for (const [id, state] of states) {
    // One actor type (the common case): every id is its own, no need to parse the name.
    const actor = only ?? actorOf(pipeline, id.slice(0, id.indexOf('\u0000')));
    if (!actor) continue;
    if (isParted(actor.codec)) {
      const next = partedWrites(actor.codec, id, state, baselines?.get(id), writes);
      committed?.set(id, next);
      if (sizes) {
        // the head (or the whole state) is the last write, then every part as stored
        let bytes = writes.at(-1)?.value?.length ?? 0;
        for (const text of next.values()) bytes += text.length;
        sizes.set(id, bytes);
      }
      continue;
    }
    const value = state === undefined ? null : encodeState(actor, state);
    writes.push({ id, value });
    sizes?.set(id, value?.length ?? 0);
  }
  return writes;
}

function actorOf<M>(pipeline: Pipeline<M>, name: string): ActorType<unknown, M> | undefined {
  return pipeline.actors.find((a) => a.name === name);
}
