/**
 * Sustained live load on the merchant stage, in one process (no Kafka, Redis or Cassandra): the
 * state bytes written per event and the stage's CPU per event once every merchant holds its full
 * windowMs + allowed lateness of panes (25 min by default), which the 20 s latency bench and the
 * sparse pipeline-domain history never reach.
 *
 *   npx tsx load-tests/merchant-sustained.ts [--rate 2000] [--minutes 30] [--measure-minutes 5]
 *        [--batch-ms 100] [--pool 50000] [--seed sustained] [--json <file>]
 *
 * Traffic: the generator's unique, on-time events (--pool of them: 125 merchants and 1,250 users
 * at the default 50,000, like bench:pipeline's live phase), cycled with fresh ids and re-timed to
 * arrive at --rate events/s in order, as the latency bench sends them. Every --batch-ms of event
 * time, each partition steps what arrived for it as one batch (a live fetch: ~17 records per
 * partition at 2,000/s and 100 ms), as pipeline-domain.ts does (decode, batch step with timers,
 * encode the touched states, serialise the outbox), plus the states' UTF-8 bytes (stateBytes).
 * Only the last --measure-minutes are counted.
 * Reported per event: CPU µs per part and merchant state bytes written (with states stored in
 * parts, runtime/state-parts.ts: the head and the changed parts); the biggest single value
 * written; every merchant's final state encoded whole (total, biggest) and the CPU to decode them
 * all once (a cache miss loads a state from Redis).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { merchantPipeline } from '../src/actors/payments/pipelines.ts';
import { encodeOutboxEffects } from '../src/adapters/redis/codec.ts';
import { encodeEvent } from '../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { GeneratedEvent } from '../src/generator/types.ts';
import { ActorCache } from '../src/runtime/actor-cache.ts';
import { runBatchStep, toStateWrites } from '../src/runtime/batch-step.ts';
import type { InputRecord } from '../src/runtime/source.ts';
import type { Baselines } from '../src/runtime/state-parts.ts';
import { TimerIndex } from '../src/runtime/timer-index.ts';
import { decodeItem, timed } from './domain-step.ts';
import { partitionOf } from './pipeline-replay.ts';

const PARTITIONS = 12;
const ALLOWED_LATENESS_MS = 20 * 60_000;
const START_MS = Date.UTC(2026, 0, 1);

type Part = 'decode' | 'step' | 'encodeStates' | 'stateBytes' | 'outbox';
const PARTS: readonly Part[] = ['decode', 'step', 'encodeStates', 'stateBytes', 'outbox'];

interface PartitionRun {
  readonly timers: TimerIndex;
  maxEventTimeMs: number;
  watermarkMs: number;
}

function pool(seed: string, size: number): GeneratedEvent[] {
  const traffic = generateTraffic(generatorOptions({ seed, events: size }));
  return traffic.emissions.filter((e) => e.truth.duplicate_of === null && !e.truth.late).map((e) => e.event);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '2000' },
      minutes: { type: 'string', default: '30' },
      'measure-minutes': { type: 'string', default: '5' },
      'batch-ms': { type: 'string', default: '100' },
      pool: { type: 'string', default: '50000' },
      seed: { type: 'string', default: 'sustained' },
      json: { type: 'string' },
    },
  });
  const rate = Number(values.rate);
  const batchMs = Number(values['batch-ms']);
  const totalEvents = Math.round((Number(values.minutes) * 60 * rate));
  const measureFrom = totalEvents - Math.round(Number(values['measure-minutes']) * 60 * rate);
  const events = pool(values.seed, Number(values.pool));
  const pipeline = merchantPipeline();
  const cpu: Record<Part, number> = { decode: 0, step: 0, encodeStates: 0, stateBytes: 0, outbox: 0 };
  const stored = new Map<string, unknown>();
  // What the partition tasks know is stored of parted states (runtime/state-parts.ts).
  const baselines: Baselines = new Map();
  const wire = Buffer.alloc(1 << 20);
  const cache = new ActorCache(1_000_000);
  const runs: PartitionRun[] = Array.from({ length: PARTITIONS }, () => ({ timers: new TimerIndex(), maxEventTimeMs: Number.MIN_SAFE_INTEGER, watermarkMs: Number.MIN_SAFE_INTEGER }));
  let measured = 0;
  let stateBytes = 0;
  let biggest = 0;
  let next = 0;
  for (let tickEnd = batchMs; next < totalEvents; tickEnd += batchMs) {
    const batches: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
    for (; next < totalEvents && (next * 1000) / rate < tickEnd; next += 1) {
      const base = events[next % events.length]!;
      const ts = START_MS + Math.floor((next * 1000) / rate);
      const wire = encodeEvent({ ...base, event_id: `${base.event_id}-${Math.floor(next / events.length)}`, ts_ms: ts }, ts);
      const p = partitionOf(wire.key, PARTITIONS);
      batches[p]!.push({ partition: p, offset: String(next), key: Buffer.from(wire.key), value: Buffer.from(wire.value) });
    }
    const inWindow = next > measureFrom;
    const acc: Record<Part, number> = { decode: 0, step: 0, encodeStates: 0, stateBytes: 0, outbox: 0 };
    for (const [partition, slice] of batches.entries()) {
      if (slice.length === 0) continue;
      const run = runs[partition]!;
      const items = timed(acc, 'decode', () => slice.map((r) => decodeItem(pipeline, r)));
      // A fresh dedup map per batch: ids are unique by construction, and keeping every one would
      // hold millions of strings.
      const step = timed(acc, 'step', () =>
        runBatchStep({
          pipeline, topic: pipeline.input.topic, items, dedup: new Map(), loaded: stored, cache, timers: run.timers, partition,
          maxEventTimeMs: run.maxEventTimeMs, watermarkMs: run.watermarkMs, allowedLatenessMs: ALLOWED_LATENESS_MS, handlerRetries: 0, nowMs: 0,
        }),
      );
      const committed: Baselines = new Map();
      const writes = timed(acc, 'encodeStates', () => toStateWrites(pipeline, step.states, baselines, committed));
      for (const [id, parts] of committed) baselines.set(id, parts);
      // What sending them costs before the socket: the UTF-8 bytes of every value (ioredis
      // writes each string argument so; the encoded values are lazily concatenated strings,
      // flattened here).
      timed(acc, 'stateBytes', () => {
        for (const w of writes) if (w.value !== null) wire.write(w.value, 0, 'utf8');
      });
      timed(acc, 'outbox', () => encodeOutboxEffects(step.effects).length);
      for (const [id, state] of step.states) stored.set(id, state);
      run.maxEventTimeMs = step.maxEventTimeMs;
      run.watermarkMs = step.watermarkMs;
      if (!inWindow) continue;
      measured += slice.length;
      for (const w of writes) {
        const bytes = w.value?.length ?? 0;
        stateBytes += bytes;
        if (bytes > biggest) biggest = bytes;
      }
    }
    if (inWindow) for (const p of PARTS) cpu[p] += acc[p];
  }
  const decodeMicros = decodeAll(pipeline, stored);
  const total = PARTS.reduce((a, p) => a + cpu[p], 0);
  const report = {
    rate, batchMs, minutes: Number(values.minutes), measuredEvents: measured, merchants: decodeMicros.states,
    cpuMicrosPerEvent: round2(total / measured),
    parts: Object.fromEntries(PARTS.map((p) => [p, round2(cpu[p] / measured)])),
    stateBytesPerEvent: Math.round(stateBytes / measured),
    biggestWriteBytes: biggest,
    biggestStoredStateBytes: decodeMicros.biggest,
    storedStateBytes: decodeMicros.bytes,
    decodeAllStatesMicros: decodeMicros.micros,
  };
  console.log(JSON.stringify(report));
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  }
}

/** Encodes every final state once and times decoding them all (what cache misses cost). */
function decodeAll(pipeline: ReturnType<typeof merchantPipeline>, states: Map<string, unknown>) {
  const writes = toStateWrites(pipeline, states).filter((w) => w.value !== null);
  const actor = pipeline.actors[0]!;
  const cpu = { decode: 0 };
  timed(cpu, 'decode', () => {
    for (const w of writes) {
      const raw = w.value as string;
      const colon = raw.indexOf(':');
      actor.codec.decode(raw.slice(colon + 1), Number(raw.slice(1, colon)));
    }
  });
  const sizes = writes.map((w) => (w.value as string).length);
  return { states: writes.length, bytes: sizes.reduce((a, b) => a + b, 0), biggest: Math.max(0, ...sizes), micros: Math.round(cpu.decode) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

main();
