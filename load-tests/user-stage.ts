/**
 * User stage CPU against the real Redis, in one process: what a user worker does per partition
 * batch minus Kafka and Cassandra, i.e. decode, load missing states (HMGET), the batch step,
 * state encoding, the atomic commit (Lua), the live score sink (pipeline) and the outbox ack.
 *
 *   npx tsx load-tests/user-stage.ts [events 30000] [batch 5] [rounds 3] [phases]
 *
 * Reports this process's CPU µs per event, per round (the best round is the least disturbed by
 * other load). Batches of 5 are like the live path, a few hundred like a replay. Why it exists:
 * bench:pipeline's CPU per event moves with batch sizes, which move with the machine's load; this
 * one has fixed batches, so A/B runs of the user stage's own code compare. Keys live under a
 * unique prefix on the local Redis and are removed at the end. With `phases`, each round also
 * splits its CPU per event into decode, load, step, encode (states), commit, live and ack (the
 * extra cpuUsage calls add ~1 µs per event, so compare totals only between runs alike).
 */
import { connectRedis, unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { LiveScoreSink } from '../src/adapters/redis/live-scores.ts';
import { RedisStateStore } from '../src/adapters/redis/state-store.ts';
import { userPipeline } from '../src/actors/payments/pipelines.ts';
import { LIVE_SCORES_SINK } from '../src/actors/user/user-actor.ts';
import { DEFAULT_MODEL } from '../src/analytics/default-model.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { OutputEffect } from '../src/runtime/actor.ts';
import { ActorCache } from '../src/runtime/actor-cache.ts';
import { type DecodedItem, runBatchStep, toStateWrites } from '../src/runtime/batch-step.ts';
import type { InputRecord } from '../src/runtime/source.ts';
import { type PartitionRef, stateId } from '../src/runtime/store.ts';
import { TimerIndex } from '../src/runtime/timer-index.ts';
import { partitionOf } from './pipeline-replay.ts';

const EVENTS = Number(process.argv[2] ?? 30_000);
const BATCH = Number(process.argv[3] ?? 5);
const ROUNDS = Number(process.argv[4] ?? 3);
const PHASES = process.argv[5] === 'phases';
const PARTITIONS = 4;
const LATENESS_MS = 1_200_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench:user-stage:${process.pid}`;
const redis = connectRedis(REDIS_URL);
const store = new RedisStateStore({ redis: REDIS_URL, keyPrefix: prefix });
const live = new LiveScoreSink(redis, `${prefix}:live`);
const pipeline = userPipeline({ model: () => DEFAULT_MODEL, graph: () => undefined }, { allowedLatenessMs: LATENESS_MS });
const actor = pipeline.actors[0]!;

/** The by-user records, as the merchant stage's re-keyer writes them, in generation order. */
function byUserRecords(): InputRecord[][] {
  const traffic = generateTraffic(generatorOptions({ seed: 'user-stage', events: EVENTS, periodMs: 3_600_000 }));
  const parts: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const { event } of traffic.emissions) {
    const p = partitionOf(event.user_id, PARTITIONS);
    const value = Buffer.from(JSON.stringify({ ...event, ingest_received_ms: 1 }));
    parts[p]!.push({ partition: p, offset: String(parts[p]!.length), key: Buffer.from(event.user_id), value });
  }
  return parts;
}

interface Position {
  readonly ref: PartitionRef;
  readonly epoch: number;
  readonly cache: ActorCache;
  readonly timers: TimerIndex;
  maxEventTimeMs: number;
  watermarkMs: number;
}

/** Decoded states of the batch's users that are not cached (the partition task's load, restated). */
async function loadMissing(at: Position, items: readonly DecodedItem<unknown>[]): Promise<Map<string, unknown>> {
  const ids = [...new Set(items.map((i) => stateId(actor.name, actor.keyOf(i.message as never)!)))];
  const missing = ids.filter((id) => !at.cache.has(at.ref.partition, id));
  const loaded = new Map<string, unknown>();
  if (missing.length === 0) return loaded;
  const raw = await store.loadStates(at.ref, missing);
  missing.forEach((id, i) => {
    const r = raw[i];
    if (r == null) return;
    const colon = r.indexOf(':');
    loaded.set(id, actor.codec.decode(r.slice(colon + 1), Number(r.slice(1, colon))));
  });
  return loaded;
}

/** CPU µs per phase of the current round, when PHASES: each mark() charges the time since the last one. */
const phaseMicros = new Map<string, number>();
let phaseStart = process.cpuUsage();
function mark(phase: string): void {
  if (!PHASES) return;
  const used = process.cpuUsage(phaseStart);
  phaseMicros.set(phase, (phaseMicros.get(phase) ?? 0) + used.user + used.system);
  phaseStart = process.cpuUsage();
}

/** One batch: decode, load, step, commit, live scores, ack. */
async function batch(at: Position, records: readonly InputRecord[], from: number): Promise<void> {
  mark('other');
  const items: DecodedItem<unknown>[] = records.map((record) => {
    const message = pipeline.input.decode(record.value as Buffer);
    return { record, message, id: pipeline.input.idOf?.(message), eventTimeMs: pipeline.input.eventTimeOf(message) };
  });
  mark('decode');
  const loaded = await loadMissing(at, items);
  mark('load');
  const step = runBatchStep({
    pipeline, topic: pipeline.input.topic, items, dedup: new Map(), loaded, cache: at.cache, timers: at.timers,
    partition: at.ref.partition, maxEventTimeMs: at.maxEventTimeMs, watermarkMs: at.watermarkMs, allowedLatenessMs: LATENESS_MS, handlerRetries: 0, nowMs: 1,
  });
  mark('step');
  const states = toStateWrites(pipeline, step.states);
  mark('encode');
  const result = await store.commit({
    ref: at.ref, epoch: at.epoch, fromOffset: String(from), nextOffset: String(from + records.length), states,
    dedup: step.dedup, dedupPruneBelowMs: 0, timersAdd: step.timersAdd, timersRemove: step.timersRemove, effects: step.effects,
    maxEventTimeMs: step.maxEventTimeMs, watermarkMs: step.watermarkMs,
  });
  if (!result.ok) throw new Error(`commit refused: ${result.reason}`);
  at.cache.setAll(at.ref.partition, step.states);
  at.maxEventTimeMs = step.maxEventTimeMs;
  at.watermarkMs = step.watermarkMs;
  mark('commit');
  await live.perform(step.effects.filter((e: OutputEffect) => e.type === 'upsert' && e.sink === LIVE_SCORES_SINK));
  mark('live');
  if (result.outboxSeq !== null) await store.ackOutbox(at.ref, at.epoch, result.outboxSeq);
  mark('ack');
}

/** CPU µs per event of one pass over every partition (a fresh consumer group: empty states). */
async function run(parts: readonly InputRecord[][], round: number): Promise<number> {
  const cache = new ActorCache(100_000);
  let micros = 0;
  let events = 0;
  for (const [partition, records] of parts.entries()) {
    const ref = { group: `g${round}`, topic: pipeline.input.topic, partition };
    const { epoch } = await store.claim(ref);
    const at: Position = { ref, epoch, cache, timers: new TimerIndex(), maxEventTimeMs: Number.MIN_SAFE_INTEGER, watermarkMs: Number.MIN_SAFE_INTEGER };
    for (let from = 0; from < records.length; from += BATCH) {
      const started = process.cpuUsage();
      const slice = records.slice(from, from + BATCH);
      await batch(at, slice, from);
      const used = process.cpuUsage(started);
      micros += used.user + used.system;
      events += slice.length;
    }
  }
  return micros / events;
}

try {
  const parts = byUserRecords();
  for (let round = 0; round < ROUNDS; round += 1) {
    phaseMicros.clear();
    console.log(`round ${round + 1}: ${(await run(parts, round)).toFixed(1)} µs/event (batches of ${BATCH}, ${EVENTS} events)`);
    if (PHASES) {
      const events = parts.reduce((n, p) => n + p.length, 0);
      const split = ['decode', 'load', 'step', 'encode', 'commit', 'live', 'ack'].map((k) => `${k} ${((phaseMicros.get(k) ?? 0) / events).toFixed(1)}`);
      console.log(`  per event: ${split.join(', ')}`);
    }
  }
} finally {
  await unlinkByPrefix(redis, prefix);
  await store.close();
  await redis.quit();
}
