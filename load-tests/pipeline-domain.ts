/**
 * Domain CPU benchmark: the merchant and user pipelines' own CPU per event, in one process,
 * without Kafka, Redis or Cassandra (so the numbers do not move with the shared stack's load).
 *
 *   npx tsx load-tests/pipeline-domain.ts [--events 100000] [--period-hours 48] [--batch 1000]
 *        [--rounds 3] [--seed <s>] [--json <file>]
 *   node --cpu-prof --import tsx load-tests/pipeline-domain.ts ...   (a profile of the same work)
 *
 * What a worker does per partition batch, minus the I/O: decode the records (the pipeline's own
 * InputSpec), run the batch step (dedup, actors, watermark, due timers: runtime/batch-step.ts),
 * encode every touched state (toStateWrites), serialise the outbox as the Redis commit does
 * (encodeOutboxEffects; the drain reuses the in-memory effects), then what the sinks build per effect: emit payload sizes
 * (Kafka), the live score's JSON (LiveScoreSink). The Cassandra sink's row binding is not
 * included (another module's cost). The merchant stage's re-keyed records are the user stage's
 * input, partitioned by user.
 *
 * Records are cut per partition into batches of --batch records, in generation order. Reported:
 * CPU µs per record of payments.events per stage and part, state bytes written per record, the
 * event-time density (events per second of event time, final windows per event). Each round
 * starts from empty states, so rounds after the first show a warm JIT; the
 * best round is reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { EVENTS_BY_USER_TOPIC, merchantPipeline, userPipeline } from '../src/actors/payments/pipelines.ts';
import { LIVE_SCORES_SINK } from '../src/actors/user/user-actor.ts';
import { encodeOutboxEffects } from '../src/adapters/redis/codec.ts';
import { DEFAULT_MODEL } from '../src/analytics/default-model.ts';
import { encodeEvent } from '../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { OutputEffect, Pipeline } from '../src/runtime/actor.ts';
import { ActorCache } from '../src/runtime/actor-cache.ts';
import { runBatchStep, toStateWrites } from '../src/runtime/batch-step.ts';
import type { InputRecord } from '../src/runtime/source.ts';
import type { Baselines } from '../src/runtime/state-parts.ts';
import { TimerIndex } from '../src/runtime/timer-index.ts';
import { decodeItem, timed } from './domain-step.ts';
import { partitionOf } from './pipeline-replay.ts';

const PARTITIONS = 12;
const ALLOWED_LATENESS_MS = 20 * 60_000;

type Part = 'decode' | 'step' | 'encodeStates' | 'outbox' | 'sinks';
const PARTS: readonly Part[] = ['decode', 'step', 'encodeStates', 'outbox', 'sinks'];

interface StageResult {
  readonly records: number;
  readonly cpuMicros: Record<Part, number>;
  readonly stateBytes: number;
  readonly outboxBytes: number;
  readonly effects: number;
  readonly windows: number;
  readonly out: InputRecord[][];
}

/** What the sinks compute per effect before any I/O. */
function sinkWork(effects: readonly OutputEffect[]): number {
  let bytes = 0;
  for (const e of effects) {
    if (e.type === 'emit') bytes += Buffer.byteLength(e.key) + Buffer.byteLength(e.value);
    else if (e.sink === LIVE_SCORES_SINK) bytes += (e.json ?? JSON.stringify(e.row)).length;
  }
  return bytes;
}

function runStage<M>(pipeline: Pipeline<M>, partitions: readonly InputRecord[][], batch: number): StageResult {
  const cpu: Record<Part, number> = { decode: 0, step: 0, encodeStates: 0, outbox: 0, sinks: 0 };
  // The states as the store would hold them (decoded, as if every one stayed cached); the
  // runtime's cache admits a key only on its second commit and loads the rest from Redis.
  const stored = new Map<string, unknown>();
  // What the partition tasks know is stored of parted states (runtime/state-parts.ts).
  const baselines: Baselines = new Map();
  const cache = new ActorCache(1_000_000);
  const out: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  let records = 0;
  let stateBytes = 0;
  let outboxBytes = 0;
  let effects = 0;
  let windows = 0;
  for (const [partition, all] of partitions.entries()) {
    const timers = new TimerIndex();
    // Every id accepted so far, as the store's dedup marks would answer (the step adds its own).
    const dedup = new Map<string, boolean>();
    let maxEventTimeMs = Number.MIN_SAFE_INTEGER;
    let watermarkMs = Number.MIN_SAFE_INTEGER;
    for (let from = 0; from < all.length; from += batch) {
      const slice = all.slice(from, from + batch);
      records += slice.length;
      const items = timed(cpu, 'decode', () => slice.map((r) => decodeItem(pipeline, r)));
      const step = timed(cpu, 'step', () =>
        runBatchStep({
          pipeline, topic: pipeline.input.topic, items, dedup, loaded: stored, cache, timers, partition, maxEventTimeMs, watermarkMs,
          allowedLatenessMs: ALLOWED_LATENESS_MS, handlerRetries: 0, nowMs: 0,
        }),
      );
      const committed: Baselines = new Map();
      const writes = timed(cpu, 'encodeStates', () => toStateWrites(pipeline, step.states, baselines, committed));
      for (const [id, parts] of committed) baselines.set(id, parts);
      for (const w of writes) stateBytes += w.value?.length ?? 0;
      outboxBytes += timed(cpu, 'outbox', () => encodeOutboxEffects(step.effects).length);
      // Re-keyed records are emitted before the commit, outside the outbox (EmitEffect.beforeCommit).
      timed(cpu, 'sinks', () => sinkWork([...step.beforeCommit, ...step.effects]));
      for (const [id, state] of step.states) stored.set(id, state);
      maxEventTimeMs = step.maxEventTimeMs;
      watermarkMs = step.watermarkMs;
      effects += step.effects.length + step.beforeCommit.length;
      for (const e of [...step.effects, ...step.beforeCommit]) {
        if (e.type !== 'emit') continue;
        if (e.topic === 'merchant.windows') windows += 1;
        if (e.topic === EVENTS_BY_USER_TOPIC) {
          const p = partitionOf(e.key, PARTITIONS);
          out[p]!.push({ partition: p, offset: String(out[p]!.length), key: Buffer.from(e.key), value: Buffer.from(e.value) });
        }
      }
    }
  }
  return { records, cpuMicros: cpu, stateBytes, outboxBytes, effects, windows, out };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      'period-hours': { type: 'string', default: '48' },
      batch: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      seed: { type: 'string', default: 'domain' },
      json: { type: 'string' },
    },
  });
  const periodHours = Number(values['period-hours']);
  const batch = Number(values.batch);
  const traffic = generateTraffic(generatorOptions({ seed: values.seed, events: Number(values.events), periodMs: periodHours * 3_600_000, allowedLatenessMs: ALLOWED_LATENESS_MS }));
  const input: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const { event } of traffic.emissions) {
    const wire = encodeEvent(event, 1_700_000_000_000);
    const p = partitionOf(wire.key, PARTITIONS);
    input[p]!.push({ partition: p, offset: String(input[p]!.length), key: Buffer.from(wire.key), value: Buffer.from(wire.value) });
  }
  const records = traffic.emissions.length;
  const scoring = { model: () => DEFAULT_MODEL, graph: () => undefined };
  let best: { merchant: StageResult; user: StageResult; total: number } | undefined;
  for (let round = 0; round < Number(values.rounds); round += 1) {
    const merchant = runStage(merchantPipeline(), input, batch);
    const user = runStage(userPipeline(scoring, { allowedLatenessMs: ALLOWED_LATENESS_MS }), merchant.out, batch);
    const total = sum(merchant.cpuMicros) + sum(user.cpuMicros);
    console.log(`round ${round + 1}: merchant ${perEvent(sum(merchant.cpuMicros), records)} µs, user ${perEvent(sum(user.cpuMicros), records)} µs per record`);
    if (!best || total < best.total) best = { merchant, user, total };
  }
  const { merchant, user } = best!;
  const span = periodHours * 3600;
  const report = {
    records, batch, periodHours,
    eventsPerEventTimeSecond: round2(records / span),
    windowsPerEvent: round2(merchant.windows / records),
    merchant: stageReport(merchant, records),
    user: stageReport(user, records),
  };
  console.log(`${records.toLocaleString('en')} records over ${periodHours} h of event time (${report.eventsPerEventTimeSecond} events/s of event time, ${report.windowsPerEvent} final windows per event), batches of ${batch}`);
  for (const name of ['merchant', 'user'] as const) {
    const s = report[name];
    const parts = PARTS.map((p) => `${p} ${s.cpuMicrosPerEvent[p]}`).join(', ');
    console.log(`${name.padEnd(8)} ${String(s.totalMicrosPerEvent).padStart(6)} µs/event (${parts}); state ${s.stateBytesPerEvent} B, outbox ${s.outboxBytesPerEvent} B per event; ${s.effectsPerEvent} effects/event`);
  }
  if (values.json) mkdirSync(dirname(values.json), { recursive: true });
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

const sum = (c: Record<Part, number>) => PARTS.reduce((a, p) => a + c[p], 0);
const perEvent = (micros: number, records: number) => round2(micros / records);
const round2 = (x: number) => Math.round(x * 100) / 100;

function stageReport(s: StageResult, records: number) {
  return {
    totalMicrosPerEvent: perEvent(sum(s.cpuMicros), records),
    cpuMicrosPerEvent: Object.fromEntries(PARTS.map((p) => [p, perEvent(s.cpuMicros[p], records)])) as Record<Part, number>,
    stateBytesPerEvent: Math.round(s.stateBytes / records),
    outboxBytesPerEvent: Math.round(s.outboxBytes / records),
    effectsPerEvent: round2(s.effects / records),
  };
}

main();
