/**
 * Ingest benchmark against the real API (child process) and real Kafka on loopback.
 *
 *   npm run bench:ingest -- [--json out.json] [--batch-seconds 15] [--single-seconds 15] [--rps 1000] [--profile]
 *                        [--api-node-options '--max-semi-space-size=4']
 *
 * Phase 1: batch throughput — NDJSON batches of 1,000 generated events (a pool of 20,000
 *          re-sent with fresh event_ids), 4 in flight, for at most --batch-seconds (and at most
 *          --batch-events). Target ≥ 20,000 events/s.
 * Phase 2: single-event latency — open loop at --rps for --single-seconds; latency is measured
 *          from each request's scheduled time (no coordinated omission). Target p99 ≤ 20 ms.
 * Bounded in count and time; uses its own topic prefix and Redis key prefix, cleaned up after.
 * Besides the latencies it reports CPU per event of the API, Kafka and this process (from
 * /proc), and over the single phase the API's own request and Kafka-ack times, the loop delay
 * and GC pauses of the API and of this process: where a slow request spent its time.
 * `--profile` runs the API with `node --cpu-prof` (profile in .stack/tmp/prof/ingest-<run>/).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteTopics, ensureTopics } from '../src/adapters/kafka/admin.ts';
import { installRequestQueueFix } from '../src/adapters/kafka/request-queue-fix.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../src/adapters/redis/api-key-store.ts';
import { newApiKey } from '../src/api/ingest/auth.ts';
import { IngestClient } from '../src/cli/ingest-client.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import { TopicBase, topics } from '../src/provision/topics.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { apiProbe, type LoopReport, localLoopProbe } from './ingest-probes.ts';
import { cpuSample, microsPerEvent, stackPids } from './pipeline-machine.ts';
import { Child, freePort, httpOk, REPO_ROOT, waitFor } from './processes.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    'batch-seconds': { type: 'string', default: '15' },
    'batch-events': { type: 'string', default: '400000' },
    'batch-size': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    'single-seconds': { type: 'string', default: '15' },
    rps: { type: 'string', default: '1000' },
    profile: { type: 'boolean', default: false },
    'api-node-options': { type: 'string', default: '' },
  },
});

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (x: number) => Math.round(x * 100) / 100;

/**
 * NDJSON bodies of `size` events drawn in turn from `pool`, each pass over the pool with its own
 * event_id prefix (`<tag><pass>.`) so that no id repeats: a few tens of thousands of generated
 * events feed any number of batches, and the load generator's heap stays small (it measures the
 * single-event latency afterwards, in this process, where its own GC pauses would count).
 */
function batchBodies(pool: readonly string[], tag: string, size: number): (index: number) => string {
  return (index) => {
    const lines: string[] = [];
    for (let g = index * size; g < (index + 1) * size; g += 1) {
      const pass = Math.floor(g / pool.length);
      lines.push(pool[g % pool.length]!.replace('"event_id":"', `"event_id":"${tag}${pass}.`));
    }
    return lines.join('\n');
  };
}

async function batchPhase(client: IngestClient, body: (index: number) => string, maxEvents: number, seconds: number, size: number, concurrency: number) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const batches = Math.floor(maxEvents / size);
  let next = 0;
  let accepted = 0;
  let failed = 0;
  const worker = async () => {
    while (next < batches && performance.now() < deadline) {
      const res = await client.postBatch(body(next++));
      if (res.status === 202) accepted += Number((JSON.parse(res.body) as { accepted: number }).accepted);
      else {
        failed += 1;
        await new Promise((r) => setTimeout(r, 50)); // do not spin on a failing API
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - started;
  return { events: accepted, failedRequests: failed, durationMs: Math.round(ms), eventsPerSecond: Math.round((accepted / ms) * 1000) };
}

async function singlePhase(client: IngestClient, lines: readonly string[], seconds: number, rps: number) {
  const total = Math.min(lines.length, Math.round(seconds * rps));
  const latencies: number[] = [];
  const errorStatuses: Record<string, number> = {};
  let errors = 0;
  const fail = (why: string) => {
    errors += 1;
    errorStatuses[why] = (errorStatuses[why] ?? 0) + 1;
  };
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && started + (i * 1000) / rps <= now) {
      const scheduled = started + (i * 1000) / rps;
      const p = client.postEvent(lines[i]!).then(
        (res) => {
          if (res.status === 202) latencies.push(performance.now() - scheduled);
          else fail(String(res.status));
        },
        (err: Error) => fail(err.message),
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
      i += 1;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const ms = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    requests: total, ok: latencies.length, errors, errorStatuses, durationMs: Math.round(ms), achievedRps: Math.round((total / ms) * 1000),
    p50Ms: round(percentile(latencies, 50)), p90Ms: round(percentile(latencies, 90)), p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies.at(-1) ?? Number.NaN),
  };
}

async function main(): Promise<number> {
  installRequestQueueFix(); // this process's admin client too (TimeoutNegativeWarning, 1 ms polling)
  const name = `bench_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${name}.` } });
  const logger = createLogger({ level: 'warn', name: 'bench' });
  const wanted = topics(`${name}.`).filter((t) => t.base === TopicBase.events);
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined); // reconnects by itself; setup/cleanup calls fail loudly
  const redisPrefix = `${base.redis.keyPrefix}:${name}`;
  const profileDir = join(REPO_ROOT, '.stack', 'tmp', 'prof', `ingest-${name}`);
  const port = await freePort();
  const key = newApiKey();
  const api = new Child('src/cli/api.ts', {
    RISKSTREAM_KAFKA_TOPIC_PREFIX: `${name}.`, RISKSTREAM_REDIS_KEY_PREFIX: redisPrefix, RISKSTREAM_API_PORT: String(port),
    RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn', RISKSTREAM_API_RATE_LIMIT_EVENTS_PER_SEC: '100000000',
  }, join(work, 'api.log'), {
    execArgv: [...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...values['api-node-options'].split(' ').filter(Boolean)],
  });
  try {
    await ensureTopics(config, wanted, { logger });
    await new RedisApiKeyStore(redis, redisPrefix).put(key.hash, { keyId: key.keyId, name, scopes: ['ingest'], createdMs: Date.now() });
    if (values.profile) await mkdir(profileDir, { recursive: true });
    api.start();
    await waitFor('api ready', () => httpOk(`http://127.0.0.1:${port}/readyz`), 60_000);
    const loadAvgBefore = os.loadavg().map(round);
    const batchEvents = Number(values['batch-events']);
    const rps = Number(values.rps);
    const singleSeconds = Number(values['single-seconds']);
    const now = Date.now();
    // Real generated payloads, re-stamped to recent event times (the API checks future skew only).
    const toLines = (seed: string, n: number) =>
      generateTraffic(generatorOptions({ seed, events: n, startMs: now - 2 * 86_400_000 }))
        .emissions.filter((e) => e.truth.duplicate_of === null)
        .map((e) => JSON.stringify(e.event));
    const batchPool = toLines('benchbatch', Math.min(batchEvents, 20_000));
    const singleLines = toLines('benchsingle', Math.max(1_000, Math.round(rps * singleSeconds * 1.01)));
    // Enough sockets that a slow moment never queues requests inside the client (open loop).
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: key.key, maxSockets: 1024 });
    // Warm-up (JIT, connections, producer id): not measured.
    await batchPhase(client, batchBodies(batchPool, 'w', 1000), 20_000, 5, 1000, 2);
    const pids = { api: api.pid, kafka: stackPids().kafka };
    const batchCpu = cpuSample(pids);
    const batchSize = Number(values['batch-size']);
    const batch = await batchPhase(client, batchBodies(batchPool, 'b', batchSize), batchEvents, Number(values['batch-seconds']), batchSize, Number(values.concurrency));
    const batchCpuReport = batchCpu.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    const apiLoop = await apiProbe(port);
    const benchLoop = localLoopProbe();
    const singleCpu = cpuSample(pids);
    const single = await singlePhase(client, singleLines, singleSeconds, rps);
    const singleCpuReport = singleCpu.stop();
    const diagnostics = {
      batchCpuMicrosPerEvent: microsPerEvent(batchCpuReport, Math.max(1, batch.events)),
      batchCpu: batchCpuReport,
      singleCpuMicrosPerEvent: microsPerEvent(singleCpuReport, Math.max(1, single.ok)),
      singleCpu: singleCpuReport,
      singleApiLoop: await apiLoop.stop(),
      singleBenchLoop: benchLoop.stop(),
    };
    client.close();
    const result = {
      batchEventsPerSecond: batch.eventsPerSecond,
      batchEvents: batch.events,
      batchDurationMs: batch.durationMs,
      batchFailedRequests: batch.failedRequests,
      batchSize: Number(values['batch-size']),
      batchConcurrency: Number(values.concurrency),
      singleTargetRps: rps,
      singleAchievedRps: single.achievedRps,
      singleRequests: single.requests,
      singleErrors: single.errors,
      singleErrorStatuses: single.errorStatuses,
      singleP50Ms: single.p50Ms,
      singleP90Ms: single.p90Ms,
      singleP99Ms: single.p99Ms,
      singleMaxMs: single.maxMs,
      targets: { batchEventsPerSecond: 20_000, singleP99Ms: 20 },
      pass: batch.eventsPerSecond >= 20_000 && single.p99Ms <= 20 && single.errors === 0,
      // Other processes on the machine skew both numbers: the load average is recorded with them.
      machine: { cpus: os.cpus().length, node: process.version, loadAvgBefore, loadAvgAfter: os.loadavg().map(round) },
      diagnostics,
    };
    const perEvent = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ');
    const gcLine = (r: LoopReport) => Object.entries(r.gc).map(([k, v]) => `${k} ${v.count}× ${v.totalMs} ms`).join(', ');
    console.log(
      [
        'ingest benchmark (real API child process + real Kafka, loopback)',
        `  batch:  ${result.batchEventsPerSecond} events/s  (${batch.events} events in ${batch.durationMs} ms, batches of ${result.batchSize}, ${result.batchConcurrency} in flight; target ≥ 20000)`,
        `  single: p50 ${single.p50Ms} ms  p90 ${single.p90Ms} ms  p99 ${single.p99Ms} ms  max ${single.maxMs} ms  at ${single.achievedRps}/${rps} rps open loop, ${single.requests} requests, ${single.errors} errors (target p99 ≤ 20)`,
        `  CPU per event (µs): batch ${perEvent(diagnostics.batchCpuMicrosPerEvent)}; single ${perEvent(diagnostics.singleCpuMicrosPerEvent)}`,
        `  single phase, API: own request time p99 ≤ ${diagnostics.singleApiLoop.handlerP99AtMostMs} ms (${diagnostics.singleApiLoop.handlerOver20MsShare}% over 20 ms), Kafka ack p99 ≤ ${diagnostics.singleApiLoop.kafkaSendP99AtMostMs} ms; loop delay p99 ${diagnostics.singleApiLoop.loopDelayP99Ms} ms max ${diagnostics.singleApiLoop.loopDelayMaxMs} ms; GC ${gcLine(diagnostics.singleApiLoop)}`,
        `  single phase, load generator: loop delay p99 ${diagnostics.singleBenchLoop.loopDelayP99Ms} ms max ${diagnostics.singleBenchLoop.loopDelayMaxMs} ms; GC ${gcLine(diagnostics.singleBenchLoop)}`,
        `  load average before/after: ${loadAvgBefore.join(' ')} / ${result.machine.loadAvgAfter.join(' ')} on ${result.machine.cpus} cores`,
        `  ${result.pass ? 'PASS' : 'FAIL'}`,
      ].join('\n'),
    );
    if (values.json) await mkdir(dirname(values.json), { recursive: true });
    if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await api.stop();
    await deleteTopics(config, wanted.map((w) => w.name), logger).catch(() => undefined);
    await unlinkByPrefix(redis, redisPrefix).catch(() => 0);
    await redis.quit();
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  },
);
