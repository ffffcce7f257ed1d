/**
 * Ingest benchmark against the real API (child process) and real Kafka on loopback.
 *
 *   npm run bench:ingest -- [--json out.json] [--batch-seconds 15] [--single-seconds 15] [--rps 1000]
 *
 * Phase 1: batch throughput — NDJSON batches of 1,000 generated events, 4 in flight, for at
 *          most --batch-seconds (and at most --batch-events). Target ≥ 20,000 events/s.
 * Phase 2: single-event latency — open loop at --rps for --single-seconds; latency is measured
 *          from each request's scheduled time (no coordinated omission). Target p99 ≤ 20 ms.
 * Bounded in count and time; uses its own topic prefix and Redis key prefix, cleaned up after.
 */
import { writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { deleteTopics, ensureTopics } from '../src/adapters/kafka/admin.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../src/adapters/redis/api-key-store.ts';
import { newApiKey } from '../src/api/ingest/auth.ts';
import { IngestClient } from '../src/cli/ingest-client.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import { TopicBase, topics } from '../src/provision/topics.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { Child, freePort, httpOk, waitFor } from './processes.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    'batch-seconds': { type: 'string', default: '15' },
    'batch-events': { type: 'string', default: '400000' },
    'batch-size': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    'single-seconds': { type: 'string', default: '15' },
    rps: { type: 'string', default: '1000' },
  },
});

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (x: number) => Math.round(x * 100) / 100;

async function batchPhase(client: IngestClient, lines: readonly string[], seconds: number, size: number, concurrency: number) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  let accepted = 0;
  let failed = 0;
  const worker = async () => {
    while (next < lines.length && performance.now() < deadline) {
      const from = next;
      next += size;
      const res = await client.postBatch(lines.slice(from, from + size).join('\n'));
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
  const name = `bench_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${name}.` } });
  const logger = createLogger({ level: 'warn', name: 'bench' });
  const wanted = topics(`${name}.`).filter((t) => t.base === TopicBase.events);
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined); // reconnects by itself; setup/cleanup calls fail loudly
  const redisPrefix = `${base.redis.keyPrefix}:${name}`;
  const port = await freePort();
  const key = newApiKey();
  const api = new Child('src/cli/api.ts', {
    RISKSTREAM_KAFKA_TOPIC_PREFIX: `${name}.`, RISKSTREAM_REDIS_KEY_PREFIX: redisPrefix, RISKSTREAM_API_PORT: String(port),
    RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn', RISKSTREAM_API_RATE_LIMIT_EVENTS_PER_SEC: '100000000',
  }, join(work, 'api.log'));
  try {
    await ensureTopics(config, wanted, { logger });
    await new RedisApiKeyStore(redis, redisPrefix).put(key.hash, { keyId: key.keyId, name, scopes: ['ingest'], createdMs: Date.now() });
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
    const batchLines = toLines('benchbatch', batchEvents);
    const singleLines = toLines('benchsingle', Math.max(1_000, Math.round(rps * singleSeconds * 1.01)));
    // Enough sockets that a slow moment never queues requests inside the client (open loop).
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: key.key, maxSockets: 1024 });
    // Warm-up (JIT, connections, producer id): not measured.
    await batchPhase(client, batchLines.slice(0, 20_000), 5, 1000, 2);
    const batch = await batchPhase(client, batchLines.slice(20_000), Number(values['batch-seconds']), Number(values['batch-size']), Number(values.concurrency));
    await new Promise((r) => setTimeout(r, 1_000));
    const single = await singlePhase(client, singleLines, singleSeconds, rps);
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
    };
    console.log(
      [
        'ingest benchmark (real API child process + real Kafka, loopback)',
        `  batch:  ${result.batchEventsPerSecond} events/s  (${batch.events} events in ${batch.durationMs} ms, batches of ${result.batchSize}, ${result.batchConcurrency} in flight; target ≥ 20000)`,
        `  single: p50 ${single.p50Ms} ms  p90 ${single.p90Ms} ms  p99 ${single.p99Ms} ms  max ${single.maxMs} ms  at ${single.achievedRps}/${rps} rps open loop, ${single.requests} requests, ${single.errors} errors (target p99 ≤ 20)`,
        `  load average before/after: ${loadAvgBefore.join(' ')} / ${result.machine.loadAvgAfter.join(' ')} on ${result.machine.cpus} cores`,
        `  ${result.pass ? 'PASS' : 'FAIL'}`,
      ].join('\n'),
    );
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
