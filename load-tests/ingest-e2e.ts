/**
 * End to end: generated traffic → ingest API (child process) → Kafka → bronze archiver (child
 * process, kill -9'd mid-run and restarted) → Parquet, checked with DuckDB against the
 * generator's truth. Used by test/integration/ingest-e2e.test.ts (small) and
 *
 *   npm run e2e:ingest -- [--events 200000] [--seed 7] [--json report.json] [--keep]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { bronzeSource, LakeQuery } from '../src/adapters/duckdb/query.ts';
import { deleteTopics, endOffsets, ensureTopics } from '../src/adapters/kafka/admin.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../src/adapters/redis/api-key-store.ts';
import { newApiKey } from '../src/api/ingest/auth.ts';
import { driveApi } from '../src/cli/generate-drivers.ts';
import { IngestClient } from '../src/cli/ingest-client.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import { TopicBase, topics } from '../src/provision/topics.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { Child, freePort, httpOk, waitFor } from './processes.ts';

export interface E2eOptions {
  readonly events: number;
  readonly seed: string;
  /** kill -9 the archiver after this share of the emissions was dispatched (0 = never). */
  readonly killArchiverAt: number;
  /** Open-loop send rate in events/s (0 = as fast as the API takes them). */
  readonly rate?: number;
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export interface E2eReport {
  events: number;
  emissions: number;
  accepted: number;
  rejected: number;
  retries: number;
  kafkaRecords: number;
  bronzeRows: number;
  bronzeDistinctOffsets: number;
  bronzeDistinctEventIds: number;
  eventIdCountMismatches: number;
  partitionMismatches: number;
  amountSumDelta: number;
  archiverKills: number;
  /** Distinct archiver processes that committed segments (2 after a kill and restart). */
  bronzeWriters: number;
  generateMs: number;
  sendMs: number;
  sendEventsPerSec: number;
  bronzeCatchUpMs: number;
  verifyMs: number;
  /** 1-minute load average at the end: other work on the machine slows every timing here. */
  loadAvg1m: number;
  ok: boolean;
}

export async function runIngestE2e(options: E2eOptions): Promise<E2eReport> {
  const log = options.log ?? (() => undefined);
  const name = `e2e_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${name}.` } });
  const logger = createLogger({ level: 'warn', name: 'e2e' });
  const wanted = topics(`${name}.`).filter((t) => t.base === TopicBase.events || t.base === TopicBase.labels);
  const eventsTopic = wanted.find((t) => t.base === TopicBase.events)!.name;
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  const bronzeDir = join(work, 'bronze');
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined); // reconnects by itself; setup/cleanup calls fail loudly
  const redisPrefix = `${base.redis.keyPrefix}:${name}`;
  const key = newApiKey();
  const port = await freePort();
  const env = {
    RISKSTREAM_KAFKA_TOPIC_PREFIX: `${name}.`,
    RISKSTREAM_REDIS_KEY_PREFIX: redisPrefix,
    RISKSTREAM_API_PORT: String(port),
    RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn',
    RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
    RISKSTREAM_BRONZE_DIR: bronzeDir,
    RISKSTREAM_BRONZE_GROUP_ID: `${name}.bronze`,
    RISKSTREAM_BRONZE_SEGMENT_MAX_AGE_MS: '1000',
  };
  const api = new Child('src/cli/api.ts', env, join(work, 'api.log'));
  let archiver = new Child('src/cli/archiver.ts', env, join(work, 'archiver.log'));
  try {
    await ensureTopics(config, wanted, { logger });
    await new RedisApiKeyStore(redis, redisPrefix).put(key.hash, { keyId: key.keyId, name, scopes: ['ingest'], createdMs: Date.now() });
    api.start();
    archiver.start();
    await waitFor('api ready', () => httpOk(`http://127.0.0.1:${port}/readyz`), 60_000);
    let t = performance.now();
    const traffic = generateTraffic(generatorOptions({ seed: options.seed, events: options.events }));
    const generateMs = performance.now() - t;
    log(`generated ${traffic.emissions.length} emissions in ${Math.round(generateMs)} ms`);
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: key.key });
    let kills = 0;
    let restart: Promise<void> | undefined;
    const killAt = Math.floor(traffic.emissions.length * options.killArchiverAt);
    t = performance.now();
    const report = await driveApi(traffic, client, {
      rate: options.rate ?? 0, batchSize: 1000, concurrency: 4, maxRetries: 0,
      progress: log,
      sendLabels: async () => undefined,
      onDispatched: (sent) => {
        if (options.killArchiverAt > 0 && kills === 0 && sent >= killAt) {
          kills += 1;
          restart = (async () => {
            // Kill only once it has committed something, so the restart has state to resume from.
            await waitFor('a first bronze segment', async () => (await committedRows(bronzeDir)).rows > 0, 60_000, 50);
            await archiver.stop('SIGKILL');
            log(`archiver kill -9 at ${sent}+ dispatched, ${(await committedRows(bronzeDir)).rows} rows committed`);
            archiver = new Child('src/cli/archiver.ts', env, join(work, 'archiver.log'));
            archiver.start();
          })();
        }
      },
    });
    client.close();
    await restart;
    const sendMs = performance.now() - t;
    log(`sent: ${JSON.stringify({ ...report, rejections: report.rejections.length })}`);
    const ends = await endOffsets(config, eventsTopic, logger);
    const kafkaRecords = [...ends.values()].reduce((n, o) => n + Number(o), 0);
    t = performance.now();
    await waitFor('bronze to catch up', async () => (await committedRows(bronzeDir)).rows >= kafkaRecords, 300_000, 500);
    const bronzeCatchUpMs = performance.now() - t;
    t = performance.now();
    const verified = await verify(bronzeDir, traffic.emissions.map((e) => e.event), ends);
    const verifyMs = performance.now() - t;
    const result: E2eReport = {
      events: options.events, emissions: traffic.emissions.length, accepted: report.accepted, rejected: report.rejected,
      retries: report.retries, kafkaRecords, ...verified, archiverKills: kills, bronzeWriters: (await committedRows(bronzeDir)).writers,
      generateMs: Math.round(generateMs), sendMs: Math.round(sendMs), sendEventsPerSec: report.achievedEventsPerSec,
      bronzeCatchUpMs: Math.round(bronzeCatchUpMs), verifyMs: Math.round(verifyMs), loadAvg1m: loadavg()[0]!, ok: false,
    };
    result.ok =
      result.accepted === result.emissions && result.kafkaRecords === result.emissions && result.bronzeRows === result.emissions &&
      result.bronzeDistinctOffsets === result.emissions && result.bronzeDistinctEventIds === options.events &&
      result.eventIdCountMismatches === 0 && result.partitionMismatches === 0 && Math.abs(result.amountSumDelta) < 1e-3 &&
      result.bronzeWriters >= 1 + kills;
    return result;
  } finally {
    await api.stop();
    await archiver.stop();
    await deleteTopics(config, wanted.map((w) => w.name), logger).catch(() => undefined);
    await unlinkByPrefix(redis, redisPrefix).catch(() => 0);
    await redis.quit();
    if (!options.keep) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

/** Rows committed so far and distinct writers, from the segment markers (no Parquet reads). */
async function committedRows(dir: string): Promise<{ rows: number; writers: number }> {
  let rows = 0;
  const writers = new Set<string>();
  for (const p of await readdir(join(dir, '_segments')).catch(() => [] as string[])) {
    for (const m of await readdir(join(dir, '_segments', p))) {
      const marker = JSON.parse(await readFile(join(dir, '_segments', p, m), 'utf8')) as { rows: number; writer: string };
      rows += marker.rows;
      writers.add(marker.writer);
    }
  }
  return { rows, writers: writers.size };
}

async function verify(dir: string, sent: readonly { event_id: string; amount: number }[], ends: Map<number, string>) {
  const q = await LakeQuery.open();
  try {
    const src = bronzeSource(dir);
    const [totals] = await q.rows(
      `select count(*)::bigint n, count(distinct (kafka_partition, kafka_offset))::bigint u, count(distinct event_id)::bigint ids, sum(amount)::double s from ${src}`,
    );
    const perPartition = await q.rows(`select kafka_partition p, count(*)::bigint n, max(kafka_offset)::bigint hi from ${src} group by 1`);
    const partitionMismatches = [...ends].filter(([p, end]) => {
      const row = perPartition.find((r) => Number(r.p) === p);
      return Number(end) !== (row ? Number(row.n) : 0) || (row !== undefined && Number(row.hi) !== Number(end) - 1);
    }).length;
    const expected = new Map<string, number>();
    for (const e of sent) expected.set(e.event_id, (expected.get(e.event_id) ?? 0) + 1);
    const counts = await q.rows(`select event_id, count(*)::bigint c from ${src} group by 1`);
    let mismatches = Math.abs(expected.size - counts.length);
    for (const r of counts) if (expected.get(String(r.event_id)) !== Number(r.c)) mismatches += 1;
    const expectedSum = sent.reduce((s, e) => s + e.amount, 0);
    return {
      bronzeRows: Number(totals!.n), bronzeDistinctOffsets: Number(totals!.u), bronzeDistinctEventIds: Number(totals!.ids),
      eventIdCountMismatches: mismatches, partitionMismatches, amountSumDelta: (Number(totals!.s) - expectedSum) / Math.max(1, expectedSum),
    };
  } finally {
    q.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '200000' },
      seed: { type: 'string', default: '7' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'kill-at': { type: 'string', default: '0.4' },
      rate: { type: 'string', default: '0' },
    },
  });
  const started = performance.now();
  const report = await runIngestE2e({
    events: Number(values.events), seed: values.seed, killArchiverAt: Number(values['kill-at']), keep: values.keep,
    rate: Number(values.rate),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const total = Math.round(performance.now() - started);
  console.log(JSON.stringify({ ...report, totalMs: total }, null, 2));
  if (values.json) await (await import('node:fs/promises')).mkdir((await import('node:path')).dirname(values.json), { recursive: true });
  if (values.json) await (await import('node:fs/promises')).writeFile(values.json, `${JSON.stringify({ ...report, totalMs: total }, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}
