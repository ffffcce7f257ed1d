/**
 * Runtime benchmark: how close the actor runtime (exactly-once Redis state) comes to reading
 * Kafka and doing nothing.
 *
 *   npm run bench:runtime -- --json <file> [--events 1000000] [--keys <events>] [--reuse]
 *                            [--topic bench.runtime.counter] [--concurrency 4] [--max-bytes 1048576]
 *                            [--runs 1] [--heap-mib 352] [--semi-space-mib 8] [--profile] [--keep-state]
 *                            [--ceiling]
 *
 * 1. Pre-fills a 12-partition topic with `--events` counter events (`--keys` distinct keys,
 *    default one key per event) in large batches, several requests in flight. With `--reuse` an
 *    existing topic with exactly that many records is used as is.
 * 2. Raw baseline: a child process with a kafkajs consumer group that only counts messages.
 * 3. Runtime: a child process with the actor host, counter pipeline and RedisStateStore (one
 *    atomic Lua commit per partition batch: fencing, offset check, dedup marks, states, offset),
 *    reading the same topic with a fresh group and key prefix; every commit is timed.
 * Rates are events / (last commit or message − first batch): group joins are not counted.
 * Writes the JSON (`eventsPerSecond`, `rawEventsPerSecond`, `ratio`, `commitP50Ms`,
 * `commitP99Ms`, `peakRssMiB`, …), a markdown report beside it, and prints a summary.
 * `--runs N` repeats both measurements (fresh group and key prefix each time) and reports the
 * median run of each; all rates are in the JSON. Peak RSS is the highest of the runtime runs.
 *
 * Memory: both children run with `--max-old-space-size=<heap-mib>` (352 by default) and
 * `--max-semi-space-size=<semi-space-mib>` (8), the V8 budget of a worker in a container with a
 * 512 MiB limit. Without it V8 sizes both generations from the machine's RAM and lets garbage pile
 * up: on this 24 GB box the raw consumer, which keeps nothing, peaks near 570 MiB and the runtime
 * near 800 MiB. With the old-space cap alone the runtime still peaked at ~500 MiB: the young
 * generation had grown to ~110 MiB of it; 8 MiB semi-spaces cost no measurable throughput here.
 * What the runtime keeps is bounded by RISKSTREAM_RUNTIME_MAX_ACTIVE_ACTORS (decoded states;
 * 200,000 by default) and the fetch size (kafkajs holds a whole decoded fetch response), not by
 * the number of keys. `0` for either flag measures with V8's default.
 * `--ceiling` adds a diagnostic third measurement: the same runtime child with a store that keeps
 * nothing (src/cli/bench-null-store.ts), i.e. the engine's own cost without storage. It tells how
 * much of the gap to raw is the engine's and how much Redis's; it is not an exactly-once run and
 * the targets are judged on the Redis run only.
 * `--profile` runs the runtime child with `node --cpu-prof` (profile in .stack/tmp/prof/).
 * RISKSTREAM_* settings (e.g. RISKSTREAM_RUNTIME_MAX_ACTIVE_ACTORS) reach the runtime child.
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { deleteGroups, prefill, recreateTopic, topicEnds } from '../adapters/kafka/bench-tools.ts';
import { connectRedis, unlinkByPrefix } from '../adapters/redis/admin.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import type { ChildResult } from './bench-runtime-child.ts';
import { type BenchReport, buildReport, printSummary, writeReport } from './bench-runtime-report.ts';

const PARTITIONS = 12;
const BASE_TIME_MS = 1_700_000_000_000;

const { values: opts } = parseArgs({
  options: {
    json: { type: 'string' },
    events: { type: 'string', default: '1000000' },
    keys: { type: 'string' },
    topic: { type: 'string', default: 'bench.runtime.counter' },
    reuse: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '4' },
    'max-bytes': { type: 'string', default: String(1024 * 1024) },
    profile: { type: 'boolean', default: false },
    'keep-state': { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    'heap-mib': { type: 'string', default: '352' },
    'semi-space-mib': { type: 'string', default: '8' },
    ceiling: { type: 'boolean', default: false },
  },
});
if (!opts.json) {
  console.error('usage: npm run bench:runtime -- --json <file> [--events N] [--reuse] ...');
  process.exit(2);
}
const config = loadConfig(process.env);
const logger = createLogger({ name: 'bench-runtime', level: 'warn' });
const kafka = { brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-bench`, logger };
const events = Number(opts.events);
const keys = Number(opts.keys ?? opts.events);
const topic = config.kafka.topicPrefix + opts.topic;
const runId = Date.now().toString(36);
type Redis = ReturnType<typeof connectRedis>;

/** Event i: key i mod keys (its partition fixed by the key), event time i ms after the base. */
function record(i: number): { key: string; value: string; partition: number } {
  const k = i % keys;
  return { key: `k${k}`, value: `{"id":"e${i}","k":"k${k}","ts":${BASE_TIME_MS + i},"v":${i % 1000}}`, partition: k % PARTITIONS };
}

/** The topic's high watermarks after making sure it holds exactly `events` records. */
async function prepareTopic(): Promise<{ ends: Map<number, number>; prefillSeconds: number | null }> {
  const existing = await topicEnds(kafka, topic);
  const count = existing ? [...existing.values()].reduce((a, b) => a + b, 0) : 0;
  if (opts.reuse && existing?.size === PARTITIONS && count === events) return { ends: existing, prefillSeconds: null };
  console.log(`pre-filling ${topic} with ${events.toLocaleString('en')} events (${keys.toLocaleString('en')} keys)...`);
  await recreateTopic(kafka, topic, PARTITIONS);
  const started = performance.now();
  let reported = 0;
  await prefill(kafka, {
    topic, events, record, batchRecords: 10_000, inFlight: 4,
    onProgress: (n) => {
      if (n - reported < 200_000) return;
      reported = n;
      console.log(`  ${n.toLocaleString('en')} produced`);
    },
  });
  const prefillSeconds = (performance.now() - started) / 1000;
  const ends = await topicEnds(kafka, topic);
  if (!ends) throw new Error(`topic ${topic} vanished after the pre-fill`);
  return { ends, prefillSeconds };
}

/** Runs one measured child; samples its VmRSS meanwhile (the child reports its own VmHWM). */
function runChild(
  role: 'raw' | 'runtime', group: string, ends: Map<number, number>, env: NodeJS.ProcessEnv, store: 'redis' | 'none' = 'redis',
): Promise<ChildResult> {
  const execArgv = ['--import', 'tsx'];
  // The V8 heap budget a worker gets in a 512 MiB container (see the header); 0: V8's default.
  if (Number(opts['heap-mib']) > 0) execArgv.push(`--max-old-space-size=${opts['heap-mib']}`);
  if (Number(opts['semi-space-mib']) > 0) execArgv.push(`--max-semi-space-size=${opts['semi-space-mib']}`);
  if (opts.profile && role === 'runtime') {
    mkdirSync('.stack/tmp/prof', { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', '.stack/tmp/prof');
  }
  const args = ['--role', role, '--topic', topic, '--group', group, '--ends', JSON.stringify(Object.fromEntries(ends))];
  args.push('--concurrency', opts.concurrency, '--max-bytes', opts['max-bytes'], '--store', store);
  const child = fork(new URL('./bench-runtime-child.ts', import.meta.url), args, { execArgv, env });
  return new Promise((resolve, reject) => {
    let result: ChildResult | undefined;
    child.on('message', (message) => {
      result = message as ChildResult;
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`${role} child exited with ${code} and no result`))));
  });
}

/** Median by rate (the lower middle one for an even count). */
function median<T extends { eventsPerSecond: number }>(runs: readonly T[]): T {
  return [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor((runs.length - 1) / 2)]!;
}

async function measureRaw(ends: Map<number, number>, runs: number, groups: string[]): Promise<ChildResult[]> {
  const results: ChildResult[] = [];
  for (let i = 0; i < runs; i += 1) {
    const group = `bench-raw-${runId}-${i}`;
    groups.push(group);
    console.log(`raw kafkajs consume, run ${i + 1}/${runs}...`);
    const result = await runChild('raw', group, ends, process.env);
    console.log(`  ${Math.round(result.eventsPerSecond).toLocaleString('en')} events/s`);
    results.push(result);
  }
  return results;
}

interface RuntimeRun extends ChildResult {
  readonly redisCpuMicros: number;
}

/**
 * The runtime child `runs` times: with the Redis store (the measurement), or with
 * NullStateStore (`store: 'none'`, `--ceiling`: the engine without storage, a diagnostic).
 */
async function measureRuntime(ends: Map<number, number>, runs: number, groups: string[], redis: Redis, store: 'redis' | 'none' = 'redis'): Promise<RuntimeRun[]> {
  const results: RuntimeRun[] = [];
  const what = store === 'redis' ? 'runtime (counter actor, Redis state, exactly-once)' : 'engine without storage (diagnostic ceiling)';
  for (let i = 0; i < runs; i += 1) {
    const group = `bench-${store === 'redis' ? 'runtime' : 'ceiling'}-${runId}-${i}`;
    const keyPrefix = `bench:runtime:${runId}:${i}`;
    groups.push(group);
    console.log(`${what}, run ${i + 1}/${runs}...`);
    const before = await redisCpuMicros(redis);
    const result = await runChild('runtime', group, ends, { ...process.env, RISKSTREAM_REDIS_KEY_PREFIX: keyPrefix }, store);
    results.push({ ...result, redisCpuMicros: (await redisCpuMicros(redis)) - before });
    console.log(`  ${Math.round(result.eventsPerSecond).toLocaleString('en')} events/s`);
    if (store === 'redis' && !opts['keep-state']) await unlinkByPrefix(redis, keyPrefix);
  }
  return results;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const { ends, prefillSeconds } = await prepareTopic();
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const runs = Math.max(1, Number(opts.runs));
  const groups: string[] = [];
  const redis = connectRedis(config.redis.url);
  try {
    const raws = await measureRaw(ends, runs, groups);
    const runtimes = await measureRuntime(ends, runs, groups, redis);
    const runtime = median(runtimes);
    const ceilings = opts.ceiling ? await measureRuntime(ends, runs, groups, redis, 'none') : [];
    const report: BenchReport = buildReport({
      topic, partitions: PARTITIONS, events: total, keys, prefillSeconds, raw: median(raws), runtime,
      peakRssMiB: Math.max(...runtimes.map((r) => r.peakRssMiB)),
      runs: { raw: raws.map((r) => Math.round(r.eventsPerSecond)), runtime: runtimes.map((r) => Math.round(r.eventsPerSecond)) },
      concurrency: Number(opts.concurrency), maxBytesPerPartition: Number(opts['max-bytes']), heapMiB: Number(opts['heap-mib']),
      semiSpaceMiB: Number(opts['semi-space-mib']),
      maxActiveActors: config.runtime.maxActiveActors, mailboxCapacity: config.runtime.mailboxCapacity,
      redisCpuMicros: runtime.redisCpuMicros, loadAverage: [loadBefore, loadavg()[0]!],
      ceiling: ceilings.length > 0 ? { median: median(ceilings), runs: ceilings.map((r) => Math.round(r.eventsPerSecond)) } : undefined,
    });
    printSummary(report, writeReport(report, opts.json!));
  } finally {
    await deleteGroups(kafka, groups);
    await redis.quit();
  }
}

/** Redis server CPU time so far (INFO cpu: used_cpu_user + used_cpu_sys), microseconds. */
async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

await main();
