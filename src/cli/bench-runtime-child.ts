/**
 * A measured process of the runtime benchmark, started by src/cli/bench-runtime.ts with an IPC
 * channel; it sends one `ChildResult` and exits. Each role runs alone in its own process, so
 * their rates are comparable and the runtime's peak RSS is its own.
 *
 *   --role raw      a kafkajs consumer group that only counts messages (the baseline)
 *   --role runtime  the actor host with the counter pipeline, RedisStateStore (exactly-once
 *                   commits, fencing, dedup) and the Kafka source/emit sink, wired as in
 *                   src/cli/worker.ts, with every commit timed; `--store none` swaps the Redis
 *                   store for NullStateStore (bench:runtime --ceiling: the engine without storage)
 *
 * Both read `--topic` from the beginning with a fresh `--group` and stop when every partition
 * reached its high watermark (`--ends`, a JSON object partition → offset). Runtime settings come
 * from RISKSTREAM_* like the worker's (e.g. RISKSTREAM_RUNTIME_MAX_ACTIVE_ACTORS).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rawConsume } from '../adapters/kafka/bench-tools.ts';
import { KafkaEmitSink } from '../adapters/kafka/emit-sink.ts';
import { KafkaSource } from '../adapters/kafka/source.ts';
import { RedisStateStore } from '../adapters/redis/state-store.ts';
import { counterPipeline } from '../actors/counter/counter.ts';
import { loadConfig } from '../runtime/config.ts';
import { ActorHost } from '../runtime/host.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { createRuntimeMetrics } from '../runtime/runtime-metrics.ts';
import { RoutingSink } from '../runtime/sink.ts';
import { NullStateStore } from './bench-null-store.ts';
import { TimedStore } from './bench-timed-store.ts';

export interface ChildResult {
  readonly role: 'raw' | 'runtime';
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** CPU time (user + system) of this process while measuring, per event, in microseconds. */
  readonly cpuMicrosPerEvent: number;
  /** VmHWM of this process (peak resident set), MiB. */
  readonly peakRssMiB: number;
  readonly commits?: number;
  /** Commit latencies in ms, sorted ascending (runtime only). */
  readonly commitMs?: readonly number[];
  readonly activeActors?: number;
  /** process.memoryUsage() (MiB) sampled every 250 ms, at the sample with the highest RSS. */
  readonly memoryAtPeakMiB: Readonly<Record<string, number>>;
}

/** Samples process.memoryUsage() and keeps the sample with the highest RSS. */
function sampleMemory(): () => Record<string, number> {
  let peak: NodeJS.MemoryUsage = process.memoryUsage();
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) peak = now;
  }, 250);
  timer.unref();
  return () => Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round((v / 2 ** 20) * 10) / 10]));
}
const memoryAtPeak = sampleMemory();

const { values: opts } = parseArgs({
  options: {
    role: { type: 'string' },
    topic: { type: 'string' },
    group: { type: 'string' },
    ends: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'max-bytes': { type: 'string', default: String(1024 * 1024) },
    'timeout-ms': { type: 'string', default: '600000' },
    store: { type: 'string', default: 'redis' },
  },
});

const config = loadConfig(process.env);
const logger = createLogger({ name: `bench-${opts.role}`, level: process.env.RISKSTREAM_OBSERVABILITY_LOG_LEVEL ?? 'warn' });
const topic = required(opts.topic, 'topic');
const group = required(opts.group, 'group');
const ends = new Map(Object.entries(JSON.parse(required(opts.ends, 'ends')) as Record<string, number>).map(([p, o]) => [Number(p), o]));
const total = [...ends.values()].reduce((a, b) => a + b, 0);
const concurrency = Number(opts.concurrency);
const maxBytes = Number(opts['max-bytes']);
const kafkaOptions = { brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-bench`, logger };

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

function peakRssMiB(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match?.[1] ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU used since `from` (a process.cpuUsage() snapshot), in microseconds. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return used.user + used.system;
}

function result(role: ChildResult['role'], events: number, ms: number, cpuMicros: number, extra: Partial<ChildResult> = {}): ChildResult {
  const seconds = ms / 1000;
  return {
    role, events, seconds, eventsPerSecond: events / seconds, cpuMicrosPerEvent: cpuMicros / events, peakRssMiB: peakRssMiB(),
    memoryAtPeakMiB: memoryAtPeak(), ...extra,
  };
}

async function runRaw(): Promise<ChildResult> {
  let cpu = process.cpuUsage();
  const timing = await rawConsume(kafkaOptions, {
    topic, groupId: group, expected: total, partitionsConsumedConcurrently: concurrency, maxBytesPerPartition: maxBytes,
    timeoutMs: Number(opts['timeout-ms']), onFirstBatch: () => {
      cpu = process.cpuUsage();
    },
  });
  return result('raw', timing.events, timing.doneAtMs - timing.firstAtMs, cpuSince(cpu));
}

async function runRuntime(): Promise<ChildResult> {
  const pipeline = counterPipeline(topic);
  const registry = createRegistry('bench');
  const metrics = createRuntimeMetrics(registry);
  const innerStore =
    opts.store === 'none' ? new NullStateStore() : new RedisStateStore({ redis: config.redis.url, keyPrefix: config.redis.keyPrefix });
  let cpu = process.cpuUsage();
  const store = new TimedStore(innerStore, ends, () => {
    cpu = process.cpuUsage();
  });
  const sink = new RoutingSink(new KafkaEmitSink({ ...kafkaOptions, topicPrefix: config.kafka.topicPrefix }));
  const host = new ActorHost({
    pipeline, group, topic, store, sink, clock: Date.now, metrics, logger: logger.child({ component: 'host' }),
    settings: {
      allowedLatenessMs: config.runtime.allowedLatenessMs, handlerRetries: config.runtime.handlerRetries,
      maxBatchRecords: config.runtime.mailboxCapacity, idlePartitionMs: config.runtime.idlePartitionMs,
      maxActiveActors: config.runtime.maxActiveActors, maxActiveStateBytes: config.runtime.maxActiveStateBytes, maxUndrainedCommits: config.runtime.maxUndrainedCommits, maxUndrainedEffects: config.runtime.maxUndrainedEffects,
      outboxAckIntervalMs: config.runtime.outboxAckIntervalMs,
    },
  });
  const source = new KafkaSource({
    ...kafkaOptions, groupId: group, topic, host, sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    heartbeatIntervalMs: config.kafka.heartbeatIntervalMs, partitionsConsumedConcurrently: concurrency,
    maxBytesPerPartition: maxBytes, mailboxCapacity: config.runtime.mailboxCapacity, onFatal: (err) => store.fail(err),
  });
  await source.start();
  const timing = await store.done(Number(opts['timeout-ms']));
  const cpuMicros = cpuSince(cpu);
  const active = (await registry.getSingleMetric('riskstream_runtime_active_actors')?.get())?.values[0]?.value;
  const out = result('runtime', timing.events, timing.doneAtMs - timing.firstAtMs, cpuMicros, {
    commits: store.commitMs.length, commitMs: [...store.commitMs].sort((a, b) => a - b), activeActors: active ?? 0,
  });
  await Promise.race([source.stop().then(() => host.stop()), new Promise((r) => setTimeout(r, 10_000))]);
  await Promise.allSettled([sink.close(), innerStore.close()]);
  return out;
}

const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
try {
  if (!process.send) throw new Error('bench-runtime-child must be started by bench-runtime (IPC channel)');
  await send(await (opts.role === 'raw' ? runRaw() : runRuntime()));
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'benchmark child failed');
  process.exit(1);
}
