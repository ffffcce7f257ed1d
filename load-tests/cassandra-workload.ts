/**
 * The Cassandra benchmark's workload: the upserts the two payment pipelines hand to their
 * CassandraUpsertSink, drain by drain, computed by running the real merchant and user actors
 * (src/actors) over generated traffic. So the rows have the production shapes and values
 * (windows per status with their counts, merchant stats, scores with 16 features and their
 * reasons) and the drains the production grouping (one drain per partition batch).
 *
 * A small stand-in for the runtime's batch step (src/runtime/batch-step.ts), enough for the
 * rows: `partitions` partitions per topic, records assigned by key hash, a drain whenever a
 * partition has `batchRecords` records waiting (and a last one per partition at the end). The
 * merchant side drops late events (behind the partition's watermark = max event time − allowed
 * lateness) and duplicates, runs the handler, then fires every due `close` timer; accepted
 * events are re-keyed by user to the user side, which dedups and scores every one.
 */
import { murmur3 } from '../src/analytics/hash.ts';
import { DEFAULT_MODEL } from '../src/analytics/default-model.ts';
import { resolveMerchantStatsConfig } from '../src/analytics/merchant-stats.ts';
import { resolveUserFeatureConfig } from '../src/analytics/user-features.ts';
import { resolveWindowConfig } from '../src/analytics/windows.ts';
import { merchantActor } from '../src/actors/merchant/merchant-actor.ts';
import { userActor } from '../src/actors/user/user-actor.ts';
import type { IngestedEvent } from '../src/contract/event.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { ActorType, Effect, OutputEffect, UpsertEffect } from '../src/runtime/actor.ts';

export interface WorkloadOptions {
  readonly seed: string;
  /** Unique generated events (the generator adds ~1% duplicates on top). */
  readonly events: number;
  /** Event time the generated traffic spans (48 h for a replay, as bench:pipeline's). */
  readonly periodMs: number;
  /**
   * Real-time traffic: event times are squeezed linearly into this span after generation (the
   * generator's planted patterns need hours of event time; at 5,000 events/s a run of tens of
   * seconds has only that much). Order is kept.
   */
  readonly squeezeToMs?: number;
  /** Start of event time. */
  readonly startMs: number;
  readonly partitions: number;
  /** Records per partition batch, i.e. per outbox drain. */
  readonly batchRecords: number;
  readonly allowedLatenessMs: number;
  /** Only upserts to these sinks (all Cassandra tables when undefined). */
  readonly tables?: ReadonlySet<string>;
}

/** One outbox drain: what one `perform` call of a worker's sink receives. */
export interface Drain {
  readonly pipeline: 'merchant' | 'user';
  /** The partition whose batch this is: a partition's drains run one after the other. */
  readonly partition: number;
  /** Records of the partition batch (events in for the merchant side, scores for the user side). */
  readonly records: number;
  readonly effects: readonly UpsertEffect[];
}

export interface Workload {
  /** In the order the batches complete (interleaving both pipelines as a replay does). */
  readonly drains: readonly Drain[];
  /** Accepted events (= scores). */
  readonly events: number;
  readonly rowsByTable: Readonly<Record<string, number>>;
}

/** Cassandra-backed sinks of the two pipelines (live scores go to Redis, not here). */
const CASSANDRA_SINKS = new Set(['merchant_windows', 'merchant_stats', 'risk_scores_by_user', 'risk_scores_by_event']);

interface Side<S> {
  readonly actor: ActorType<S, IngestedEvent>;
  readonly states: Map<string, S>;
  readonly seen: Set<string>;
  readonly queues: IngestedEvent[][];
  /** Per partition: max event time, watermark, and the due time of each key's `close` timer. */
  readonly clocks: { maxEt: number; wm: number; timers: Map<string, number> }[];
}

function side<S>(actor: ActorType<S, IngestedEvent>, partitions: number): Side<S> {
  return {
    actor, states: new Map(), seen: new Set(),
    queues: Array.from({ length: partitions }, () => []),
    clocks: Array.from({ length: partitions }, () => ({ maxEt: Number.NEGATIVE_INFINITY, wm: Number.NEGATIVE_INFINITY, timers: new Map() })),
  };
}

/** Runs the actors over generated traffic and returns every drain, in completion order. */
export function buildWorkload(o: WorkloadOptions): Workload {
  const traffic = generateTraffic(generatorOptions({
    seed: o.seed, events: o.events, startMs: o.startMs, periodMs: o.periodMs, allowedLatenessMs: o.allowedLatenessMs,
  }));
  const merchant = side(merchantActor({ windows: resolveWindowConfig(), stats: resolveMerchantStatsConfig() }), o.partitions);
  const user = side(
    userActor({ features: resolveUserFeatureConfig({ allowedLatenessMs: o.allowedLatenessMs }) }, { model: () => DEFAULT_MODEL, graph: () => undefined }),
    o.partitions,
  );
  const factor = o.squeezeToMs === undefined ? 1 : o.squeezeToMs / o.periodMs;
  const at = (ms: number) => Math.round(o.startMs + (ms - o.startMs) * factor);
  const squeeze = (e: IngestedEvent): IngestedEvent => (factor === 1 ? e : { ...e, ts_ms: at(e.ts_ms), ingest_received_ms: at(e.ingest_received_ms) });
  const drains: Drain[] = [];
  const rowsByTable: Record<string, number> = {};
  let events = 0;
  const keep = (effects: readonly Effect[]): UpsertEffect[] =>
    effects.filter((e): e is UpsertEffect => e.type === 'upsert' && CASSANDRA_SINKS.has(e.sink) && (o.tables?.has(e.sink) ?? true));
  const emit = (pipeline: Drain['pipeline'], partition: number, records: number, effects: UpsertEffect[]) => {
    for (const e of effects) rowsByTable[e.sink] = (rowsByTable[e.sink] ?? 0) + 1;
    if (effects.length > 0) drains.push({ pipeline, partition, records, effects });
  };
  const runUser = (p: number) => {
    const batch = user.queues[p]!.splice(0);
    const effects: OutputEffect[] = [];
    for (const e of batch) {
      if (user.seen.has(e.event_id)) continue;
      user.seen.add(e.event_id);
      events += 1;
      effects.push(...(handle(user, e, p, Number.NEGATIVE_INFINITY) as OutputEffect[]));
    }
    emit('user', p, batch.length, keep(effects));
  };
  const toUser = (e: IngestedEvent) => {
    const p = partitionOf(e.user_id, o.partitions);
    user.queues[p]!.push(e);
    if (user.queues[p]!.length >= o.batchRecords) runUser(p);
  };
  const runMerchant = (p: number) => {
    const batch = merchant.queues[p]!.splice(0);
    emit('merchant', p, batch.length, keep(stepMerchant(merchant, batch, p, o.allowedLatenessMs, toUser)));
  };
  for (const emission of traffic.emissions) {
    const event = squeeze({ ...emission.event, ingest_received_ms: emission.clock_ms } as IngestedEvent);
    const p = partitionOf(event.merchant_id, o.partitions);
    merchant.queues[p]!.push(event);
    if (merchant.queues[p]!.length >= o.batchRecords) runMerchant(p);
  }
  for (let p = 0; p < o.partitions; p++) if (merchant.queues[p]!.length > 0) runMerchant(p);
  for (let p = 0; p < o.partitions; p++) if (user.queues[p]!.length > 0) runUser(p);
  return { drains, events, rowsByTable };
}

/** One merchant partition batch: late check, dedup, handler, watermark, due timers. */
function stepMerchant<S>(s: Side<S>, batch: readonly IngestedEvent[], p: number, latenessMs: number, accepted: (e: IngestedEvent) => void): Effect[] {
  const clock = s.clocks[p]!;
  const effects: Effect[] = [];
  for (const e of batch) {
    if (e.ts_ms < clock.wm || s.seen.has(e.event_id)) continue;
    s.seen.add(e.event_id);
    effects.push(...handle(s, e, p, clock.wm));
    accepted(e);
    if (e.ts_ms > clock.maxEt) {
      clock.maxEt = e.ts_ms;
      clock.wm = Math.max(clock.wm, e.ts_ms - latenessMs);
    }
  }
  // Timers fire on the watermark reached at the end of the batch; a fired timer may set a new,
  // already due one (the next window end), so loop until none is due.
  for (let due = dueKeys(clock); due.length > 0; due = dueKeys(clock)) {
    for (const [key, atMs] of due) {
      clock.timers.delete(key);
      const t = s.actor.onTimer!(state(s, key), { tag: 'close', atMs }, { key, partition: p, watermarkMs: clock.wm });
      s.states.set(key, t.state);
      effects.push(...timersOf(s, p, key, t.effects));
    }
  }
  return effects;
}

function handle<S>(s: Side<S>, e: IngestedEvent, p: number, wm: number): Effect[] {
  const key = s.actor.keyOf(e)!;
  const t = s.actor.handle(state(s, key), e, { key, partition: p, offset: '0', watermarkMs: wm });
  s.states.set(key, t.state);
  return timersOf(s, p, key, t.effects);
}

/** Records timer effects in the partition's timer table (one `close` timer per key) and drops them. */
function timersOf<S>(s: Side<S>, p: number, key: string, effects: readonly Effect[]): Effect[] {
  const out: Effect[] = [];
  for (const e of effects) {
    if (e.type === 'timer') s.clocks[p]!.timers.set(key, e.atMs);
    else out.push(e);
  }
  return out;
}

function state<S>(s: Side<S>, key: string): S {
  let st = s.states.get(key);
  if (st === undefined) {
    st = s.actor.initialState(key);
    s.states.set(key, st);
  }
  return st;
}

function dueKeys(clock: { wm: number; timers: Map<string, number> }): [string, number][] {
  return [...clock.timers].filter(([, atMs]) => atMs <= clock.wm);
}

function partitionOf(key: string, partitions: number): number {
  return (murmur3(key) >>> 0) % partitions;
}
