/**
 * The k6 load tests (load-tests/k6-ingest.js, k6-lookup.js) against an API process on the local
 * stack, with their results pushed to the stack's Prometheus and checked afterwards:
 *
 *   npm run load:k6 -- [--json f.json] [--seconds 60] [--rate 1000] [--batch-rate 20]
 *                      [--batch-size 1000] [--lookup-rate 2000] [--users 10000]
 *                      [--ingest-p99-ms 20] [--lookup-p99-ms 10]
 *
 * Own topics and Redis prefix per run (removed afterwards). Ingest: every event k6 counted as
 * accepted must be in Kafka exactly once (its ids are unique per run), nothing else. Lookup: the
 * users get a live score first, through the worker's own writer; every answer must be 200 with
 * that score. k6's exit code says whether its latency thresholds held. Bounded: each scenario
 * runs `seconds`, loopback only. k6 is built on first use (scripts/k6.sh).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { LIVE_SCORES_SINK, type ScoreRecord } from '../src/actors/user/user-actor.ts';
import { deleteTopics, ensureTopics } from '../src/adapters/kafka/admin.ts';
import { readToEnd } from '../src/adapters/kafka/reader.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../src/adapters/redis/api-key-store.ts';
import { LiveScoreSink } from '../src/adapters/redis/live-scores.ts';
import { newApiKey } from '../src/api/ingest/auth.ts';
import { decodeEvent } from '../src/contract/wire.ts';
import { TopicBase, topics } from '../src/provision/topics.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { Child, freePort, httpOk, REPO_ROOT, waitFor } from './processes.ts';

export interface K6LocalOptions {
  readonly seconds: number;
  readonly rate: number;
  readonly batchRate: number;
  readonly batchSize: number;
  readonly lookupRate: number;
  readonly users: number;
  readonly ingestP99Ms: number;
  readonly lookupP99Ms: number;
  readonly log?: (line: string) => void;
}

interface K6Run {
  readonly exitCode: number;
  /** k6's --summary-export: metric name (with tags) → its values. */
  readonly metrics: Record<string, Record<string, number>>;
}

export interface K6LocalReport {
  readonly testId: string;
  readonly ingest: {
    readonly exitCode: number;
    readonly singleP99Ms: number;
    readonly singleRequests: number;
    readonly batchRequests: number;
    readonly acceptedEvents: number;
    readonly kafkaRecords: number;
    readonly distinctEventIds: number;
    readonly foreignRecords: number;
  };
  readonly lookup: { readonly exitCode: number; readonly p99Ms: number; readonly requests: number; readonly checksPassed: number; readonly checksFailed: number };
  readonly prometheusSeries: number;
  /** Whether the API process was still running after the load (it must never die of it). */
  readonly apiSurvived: boolean;
  /** The API's log, kept when something failed. */
  readonly apiLog: string | null;
}

const run = promisify(execFile);

async function k6(script: string, env: Record<string, string>, summary: string, testId: string): Promise<K6Run> {
  const args = ['scripts/k6.sh', 'run', '--quiet', '--no-color', '--summary-export', summary, '--summary-trend-stats', 'avg,p(50),p(99),max', '--tag', `testid=${testId}`, '-o', 'experimental-prometheus-rw', script];
  // The script's variables (API key included) go in k6's environment, which it exposes as
  // __ENV, rather than as -e flags that every `ps` shows.
  const childEnv = { ...process.env, K6_PROMETHEUS_RW_SERVER_URL: 'http://127.0.0.1:9090/api/v1/write', K6_PROMETHEUS_RW_TREND_STATS: 'p(50),p(99),max', ...env };
  let exitCode = 0;
  try {
    await run('bash', args, { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, env: childEnv });
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    exitCode = typeof e.code === 'number' ? e.code : 1;
    // 99: thresholds crossed (reported, not an error); anything else is.
    if (exitCode !== 99) throw new Error(`k6 ${script} failed (exit ${String(e.code)}): ${String(e.stderr).slice(-2000)}`);
  }
  const { metrics } = JSON.parse(await readFile(summary, 'utf8')) as { metrics: Record<string, Record<string, number>> };
  return { exitCode, metrics };
}

export async function runK6Local(options: K6LocalOptions): Promise<K6LocalReport> {
  const log = options.log ?? (() => undefined);
  const testId = `k6_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${testId}.` } });
  const logger = createLogger({ level: 'warn', name: 'k6' });
  const wanted = topics(`${testId}.`).filter((t) => t.base === TopicBase.events || t.base === TopicBase.labels);
  const eventsTopic = wanted.find((t) => t.base === TopicBase.events)!.name;
  const work = await mkdtemp(join(tmpdir(), `${testId}-`));
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined);
  const prefix = `${base.redis.keyPrefix}:${testId}`;
  const key = newApiKey();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const api = new Child(
    'src/cli/api.ts',
    { RISKSTREAM_KAFKA_TOPIC_PREFIX: `${testId}.`, RISKSTREAM_REDIS_KEY_PREFIX: prefix, RISKSTREAM_API_PORT: String(port), RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn' },
    join(work, 'api.log'),
  );
  try {
    await ensureTopics(config, wanted, { logger });
    await new RedisApiKeyStore(redis, prefix).put(key.hash, { keyId: key.keyId, name: testId, scopes: ['ingest', 'read'], createdMs: Date.now() });
    const users = Array.from({ length: options.users }, (_, i) => `k6u_${i}`);
    await seedScores(redis, prefix, users);
    await writeFile(join(work, 'users.json'), JSON.stringify(users));
    api.start();
    await waitFor('api ready', () => httpOk(`${baseUrl}/readyz`), 60_000);
    await run('bash', ['scripts/k6.sh', 'version'], { cwd: REPO_ROOT }); // build outside the measurement

    const seconds = `${options.seconds}s`;
    log(`ingest: ${options.rate} events/s single, then ${options.batchRate} batches/s × ${options.batchSize}, ${seconds} each`);
    const ingest = await k6(
      'load-tests/k6-ingest.js',
      { BASE_URL: baseUrl, API_KEY: key.key, RUN_ID: testId, RATE: String(options.rate), BATCH_RATE: String(options.batchRate), BATCH_SIZE: String(options.batchSize), DURATION: seconds, P99_MS: String(options.ingestP99Ms) },
      join(work, 'ingest-summary.json'),
      testId,
    );
    const ids = new Set<string>();
    let kafkaRecords = 0;
    let foreign = 0;
    await readToEnd(config, { topic: eventsTopic, groupPrefix: testId, timeoutMs: 120_000, logger }, (r) => {
      kafkaRecords += 1;
      const id = decodeEvent(r.value ?? '').event_id;
      if (!id.startsWith(`${testId}-`)) foreign += 1;
      ids.add(id);
    });
    log(`lookup: ${options.lookupRate} requests/s over ${users.length} scored users, ${seconds}`);
    const lookup = await k6(
      'load-tests/k6-lookup.js',
      { BASE_URL: baseUrl, API_KEY: key.key, RATE: String(options.lookupRate), DURATION: seconds, USERS_FILE: join(work, 'users.json'), P99_MS: String(options.lookupP99Ms) },
      join(work, 'lookup-summary.json'),
      testId,
    );
    const m = (run: K6Run, name: string, stat: string) => run.metrics[name]?.[stat] ?? Number.NaN;
    const apiSurvived = api.running;
    let apiLog: string | null = null;
    if (!apiSurvived || ingest.exitCode !== 0 || lookup.exitCode !== 0) {
      apiLog = join(tmpdir(), `${testId}-api.log`);
      await copyFile(join(work, 'api.log'), apiLog);
    }
    const series = (await (await fetch(`http://127.0.0.1:9090/api/v1/series?match[]=${encodeURIComponent(`{testid="${testId}"}`)}`)).json()) as { data: unknown[] };
    return {
      testId,
      ingest: {
        exitCode: ingest.exitCode,
        singleP99Ms: m(ingest, 'http_req_duration{scenario:single}', 'p(99)'),
        singleRequests: m(ingest, 'checks{scenario:single}', 'passes') + m(ingest, 'checks{scenario:single}', 'fails'),
        batchRequests: m(ingest, 'checks{scenario:batch}', 'passes') + m(ingest, 'checks{scenario:batch}', 'fails'),
        acceptedEvents: m(ingest, 'accepted_events', 'count'),
        kafkaRecords,
        distinctEventIds: ids.size,
        foreignRecords: foreign,
      },
      lookup: {
        exitCode: lookup.exitCode,
        p99Ms: m(lookup, 'http_req_duration{scenario:lookup}', 'p(99)'),
        requests: m(lookup, 'http_reqs', 'count'),
        checksPassed: m(lookup, 'checks', 'passes'),
        checksFailed: m(lookup, 'checks', 'fails'),
      },
      prometheusSeries: series.data.length,
      apiSurvived,
      apiLog,
    };
  } finally {
    await api.stop('SIGTERM');
    await deleteTopics(config, wanted.map((t) => t.name), logger).catch(() => undefined);
    await unlinkByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await rm(work, { recursive: true, force: true });
  }
}

/** A live score per user, written as the user worker writes them. */
async function seedScores(redis: Redis, prefix: string, users: readonly string[]): Promise<void> {
  const sink = new LiveScoreSink(redis, prefix);
  const now = Date.now();
  for (let i = 0; i < users.length; i += 1_000) {
    await sink.perform(
      users.slice(i, i + 1_000).map((user, j) => {
        const row: ScoreRecord = {
          event_id: `seed-${user}`, user_id: user, merchant_id: 'm_0001', ts_ms: now - j, ingest_received_ms: now - j,
          score: 0.01, decision: 'allow', reasons: [], features: {}, model_version: 'seed',
        };
        return { type: 'upsert' as const, sink: LIVE_SCORES_SINK, row };
      }),
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      seconds: { type: 'string', default: '60' },
      rate: { type: 'string', default: '1000' },
      'batch-rate': { type: 'string', default: '20' },
      'batch-size': { type: 'string', default: '1000' },
      'lookup-rate': { type: 'string', default: '2000' },
      users: { type: 'string', default: '10000' },
      'ingest-p99-ms': { type: 'string', default: '20' },
      'lookup-p99-ms': { type: 'string', default: '10' },
    },
  });
  const report = await runK6Local({
    seconds: Number(values.seconds), rate: Number(values.rate), batchRate: Number(values['batch-rate']), batchSize: Number(values['batch-size']),
    lookupRate: Number(values['lookup-rate']), users: Number(values.users), ingestP99Ms: Number(values['ingest-p99-ms']), lookupP99Ms: Number(values['lookup-p99-ms']),
    log: (line) => process.stderr.write(`[k6] ${line}\n`),
  });
  const i = report.ingest;
  const l = report.lookup;
  const exact = i.kafkaRecords === i.acceptedEvents && i.distinctEventIds === i.kafkaRecords && i.foreignRecords === 0;
  const lines = [
    `k6 on the local stack (${report.testId}); results also in Prometheus ({testid="${report.testId}"}, ${report.prometheusSeries} series)`,
    `ingest single: ${i.singleRequests} requests, p99 ${i.singleP99Ms.toFixed(2)} ms (threshold ${values['ingest-p99-ms']} ms: ${i.exitCode === 0 ? 'held' : 'MISSED'})`,
    `ingest batch: ${i.batchRequests} requests; ${i.acceptedEvents} events accepted, ${i.kafkaRecords} in Kafka, ${i.distinctEventIds} distinct ids: ${exact ? 'exactly once' : 'MISMATCH'}`,
    `lookup: ${l.requests} requests, p99 ${l.p99Ms.toFixed(2)} ms (threshold ${values['lookup-p99-ms']} ms: ${l.exitCode === 0 ? 'held' : 'MISSED'}), ${l.checksFailed} failed checks`,
    `API process ${report.apiSurvived ? 'still running after the load' : 'DIED during the load'}${report.apiLog ? `; its log: ${report.apiLog}` : ''}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(values.json, `${JSON.stringify({ at: new Date().toISOString(), ...report }, null, 2)}\n`);
    await writeFile(values.json.replace(/\.json$/, '.md'), `${lines.join('\n')}\n`);
  }
  process.exitCode = exact && l.checksFailed === 0 && report.apiSurvived ? 0 : 1;
}
