import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchQueue } from '../../src/adapters/bullmq/batch-queue.ts';
import { DASHBOARD_PATH, startDashboard } from '../../src/adapters/bullmq/dashboard.ts';
import { DuckDbCuratedLake } from '../../src/adapters/duckdb/curated.ts';
import { LakeSql } from '../../src/adapters/duckdb/lake-sql.ts';
import { BronzeLakeReader } from '../../src/adapters/duckdb/bronze-reader.ts';
import { FileLineageSink } from '../../src/adapters/file/lineage-file.ts';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { KafkaLabelReader } from '../../src/adapters/kafka/labels-reader.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { RedisReportStore } from '../../src/adapters/redis/batch-reports.ts';
import { CurrentGraph, RedisGraphStore } from '../../src/adapters/redis/graph-store.ts';
import { RedisModelRegistry } from '../../src/adapters/redis/model-registry.ts';
import { DEFAULT_MODEL } from '../../src/analytics/default-model.ts';
import { type BatchPorts, batchJobs, contractProblem } from '../../src/batch/jobs.ts';
import { KafkaDeadLetterReader, KafkaRepublisher } from '../../src/adapters/kafka/dlq.ts';
import { RedisDlqCursors } from '../../src/adapters/redis/dlq-cursors.ts';
import type { Config } from '../../src/runtime/config.ts';
import type { Logger } from '../../src/runtime/logger.ts';
import { encodeLabel, type FraudLabel } from '../../src/contract/label.ts';
import { generateTraffic, generatorOptions } from '../../src/generator/generate.ts';
import { fullTopicName, TopicBase, topics } from '../../src/provision/topics.ts';
import { ErrorCodes, RiskstreamError } from '../../src/runtime/errors.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { writeBronzeLake } from '../support/bronze-lake.ts';
import { userDeviceComponents } from '../support/graph-oracle.ts';
import { testConfig, uniqueName } from '../support/services.ts';

const DAY = 86_400_000;

/** Component size of every user who shares a device with another (the graph oracle). */
function componentSizes(events: readonly { user_id: string; device_id?: string | undefined }[]): Map<string, number> {
  return new Map([...userDeviceComponents(events)].filter(([, m]) => m.length > 1).map(([u, m]) => [u, m.length]));
}

function dlqPorts(config: Readonly<Config>, redis: Redis, keyPrefix: string, logger: Logger): BatchPorts['dlq'] {
  const t = (base: string) => fullTopicName(config.kafka.topicPrefix, base);
  return {
    dlq: new KafkaDeadLetterReader(config, logger, 60_000),
    republish: new KafkaRepublisher(config, logger),
    cursors: new RedisDlqCursors(redis, keyPrefix),
    topics: { invalid: t(TopicBase.dlqInvalid), processing: t(TopicBase.dlqProcessing), late: t(TopicBase.dlqLate) },
    targets: new Set([t(TopicBase.events), t(TopicBase.eventsByUser)]),
    validate: contractProblem,
    namespace: 'kafka://local',
  };
}

interface LineageEvent {
  eventType: string;
  run: { runId: string };
  job: { name: string };
  inputs: { namespace: string; name: string; inputFacets?: { inputStatistics?: { rowCount: number } }; outputFacets?: { outputStatistics?: { rowCount: number } } }[];
  outputs: LineageEvent['inputs'];
}

// The batch layer on the real stack: BullMQ on the local Redis, the bronze lake written by the
// archiver's commit path and read through DuckDB, labels from a real Kafka topic.
describe('batch jobs on the local stack', () => {
  const name = uniqueName('it_batch');
  const topicPrefix = `${name}.`;
  const keyPrefix = name;
  const logger = silentLogger();
  let dir: string;
  const traffic = generateTraffic(generatorOptions({ seed: 'it-batch', events: 6_000, periodMs: 3 * DAY }));
  const events = traffic.emissions.map((e) => e.event);
  const asOfMs = Math.max(...events.map((e) => e.ts_ms)) + 1;
  const labels: FraudLabel[] = traffic.labels.map((l) => l.label).filter((l) => l.label_ts_ms <= asOfMs);
  const config = testConfig({
    kafka: { topicPrefix },
    redis: { keyPrefix },
    batch: { queueName: 'it-batch', graphLookbackMs: 30 * DAY, qualityLookbackMs: 30 * DAY, attempts: 1 },
  });
  const labelsTopic = fullTopicName(topicPrefix, TopicBase.labels);
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
  const finished: { job: string; outcome: string }[] = [];
  let queue: BatchQueue;

  const lineageEvents = async (job: string): Promise<LineageEvent[]> => {
    const files = await readdir(join(dir, '_lineage'));
    const lines = (await Promise.all(files.map((f) => readFile(join(dir, '_lineage', f), 'utf8')))).join('').split('\n').filter(Boolean);
    return lines.map((l) => JSON.parse(l) as LineageEvent).filter((e) => e.job.name === job);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'it-batch-'));
    // partition by merchant, arrival in emission order (duplicates and late events included)
    await writeBronzeLake(
      dir,
      traffic.emissions.map((e, i) => ({ partition: e.event.merchant_id.length % 3, event: e.event as never, timestampMs: 1_700_000_000_000 + i })),
    );
    await ensureTopics(config, topics(topicPrefix).filter((t) => t.base === TopicBase.labels), { logger });
    // Idempotent: a retried send must not add copies of labels (the reader counts them).
    const producer = new kafkajs.Kafka({ clientId: 'it-batch', brokers: [...config.kafka.brokers], logLevel: kafkajs.logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: labelsTopic, messages: [...labels.map(encodeLabel), { key: 'x', value: 'not a label' }] });
    await producer.disconnect();
    const jobs = batchJobs(config, {
      lake: new BronzeLakeReader(dir),
      curated: new DuckDbCuratedLake({ bronzeDir: dir, dimensionsDir: join(dir, '_dim'), curatedDir: join(dir, '_curated') }),
      labels: new KafkaLabelReader(config, labelsTopic, logger, 60_000),
      graph: new RedisGraphStore(redis, keyPrefix),
      models: new RedisModelRegistry(redis, keyPrefix),
      reports: new RedisReportStore(redis, keyPrefix),
      fallbackModel: DEFAULT_MODEL,
      lineage: new FileLineageSink(join(dir, '_lineage')),
      datasets: {
        lake: { namespace: 'file', name: dir },
        curated: { namespace: 'file', name: join(dir, '_curated') },
        dimensions: { namespace: 'file', name: join(dir, '_dim') },
        labels: { namespace: `kafka://${config.kafka.brokers[0]}`, name: labelsTopic },
        redis: { namespace: 'redis://local', keyPrefix },
      },
      now: Date.now,
      dlq: dlqPorts(config, redis, keyPrefix, logger),
    });
    queue = new BatchQueue({
      redisUrl: config.redis.url, prefix: `${keyPrefix}:bull`, queueName: config.batch.queueName, jobs,
      attempts: 1, backoffMs: 10, logger, work: true,
      onFinished: (job, outcome) => void finished.push({ job, outcome }),
    });
  }, 120_000);

  afterAll(async () => {
    await queue?.close();
    await unlinkByPrefix(redis, keyPrefix);
    await redis.quit();
    await deleteTopics(config, [labelsTopic], logger);
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every label on the topic and skips a record that is not one', async () => {
    const reader = new KafkaLabelReader(config, labelsTopic, logger, 60_000);
    const got = await reader.labels();
    expect(got).toHaveLength(labels.length);
    expect(new Set(got.map((l) => l.event_id))).toEqual(new Set(labels.map((l) => l.event_id)));
    expect(reader.invalid).toBe(1);
  }, 90_000);

  it('rebuilds the graph through the queue: the Redis snapshot equals a union-find recomputation, and workers load it', async () => {
    const result = (await queue.runNow('graph-rebuild', asOfMs, 120_000)) as Record<string, number | string>;
    const unique = [...new Map(events.map((e) => [e.event_id, e])).values()].filter((e) => e.ts_ms >= asOfMs - 30 * DAY && e.ts_ms < asOfMs);
    const expected = componentSizes(unique);
    expect(expected.size).toBeGreaterThan(5); // the planted rings share devices
    expect(result).toMatchObject({ snapshotId: String(asOfMs), events: unique.length, usersWithContext: expected.size });
    expect(result.knownFraudUsers).toBe(new Set(labels.filter((l) => l.label === 'fraud').map((l) => l.user_id)).size);

    const store = new RedisGraphStore(redis, keyPrefix);
    expect(await store.currentId()).toBe(String(asOfMs));
    const current = new CurrentGraph(store);
    expect(await current.refresh()).toBe(String(asOfMs));
    const loaded = await store.load(String(asOfMs));
    expect(new Map([...loaded].map(([u, c]) => [u, c.componentSize]))).toEqual(expected);
    for (const [u, c] of loaded) {
      expect(current.get(u)).toEqual(c);
      expect(c.ringScore).toBeGreaterThan(0);
      expect(c.ringScore).toBeLessThanOrEqual(1);
    }
    expect(await current.refresh()).toBeNull(); // unchanged: no reload
    // The lookup API's read: component id (smallest member) and direct device-sharing users.
    const components = userDeviceComponents(unique);
    for (const u of [...expected.keys()].slice(0, 20)) {
      const devices = new Set(unique.filter((e) => e.user_id === u && e.device_id !== undefined).map((e) => e.device_id));
      const direct = [...new Set(unique.filter((e) => e.user_id !== u && devices.has(e.device_id)).map((e) => e.user_id))].sort();
      expect(await store.currentUser(u)).toMatchObject({ component: [...(components.get(u) ?? [])].sort()[0], sharedWith: direct.slice(0, 50) });
    }

    // The same job asked for again (same kind and as-of time) is the same job: not run twice.
    const again = await queue.runNow('graph-rebuild', asOfMs, 60_000);
    expect(again).toEqual(result);
    expect(finished.filter((f) => f.job === 'graph-rebuild')).toEqual([{ job: 'graph-rebuild', outcome: 'completed' }]);

    // One OpenLineage run: START, then COMPLETE with what it read and wrote.
    const runEvents = await lineageEvents('graph-rebuild');
    expect(runEvents.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(new Set(runEvents.map((e) => e.run.runId)).size).toBe(1);
    const rows = (list: LineageEvent['inputs']) => list.map((d) => [d.namespace, d.name, d.inputFacets?.inputStatistics?.rowCount ?? d.outputFacets?.outputStatistics?.rowCount]);
    expect(rows(runEvents[1]!.inputs)).toEqual([['file', dir, unique.length], [`kafka://${config.kafka.brokers[0]}`, labelsTopic, labels.length]]);
    expect(rows(runEvents[1]!.outputs)).toEqual([['redis://local', `${keyPrefix}:graph:v:${asOfMs}`, expected.size]]);
  }, 180_000);

  it('checks data quality over every stored row and keeps the report in Redis', async () => {
    const report = (await queue.runNow('quality-check', asOfMs, 120_000)) as { rows: number; score: number; results: { name: string; unexpected: number }[] };
    const inRange = events.filter((e) => e.ts_ms >= asOfMs - 30 * DAY && e.ts_ms < asOfMs);
    expect(report.rows).toBe(inRange.length);
    const repeats = inRange.length - new Set(inRange.map((e) => e.event_id)).size;
    expect(repeats).toBeGreaterThan(0); // the generator re-sends some events
    expect(report.results.find((r) => r.name === 'event_id unique')?.unexpected).toBe(repeats);
    expect(await new RedisReportStore(redis, keyPrefix).get('quality-check')).toEqual(JSON.parse(JSON.stringify(report)));
  }, 180_000);

  it('curates the lake through the queue: one row per event id, pivot totals add up, lineage names the tables', async () => {
    const report = (await queue.runNow('curate', asOfMs, 120_000)) as { snapshot: number; rows: Record<string, number>; unmatched: Record<string, number> };
    const distinct = new Map(events.filter((e) => e.ts_ms < asOfMs).map((e) => [e.event_id, e] as const));
    expect(report.snapshot).toBe(1);
    expect(report.rows.payments).toBe(distinct.size);
    expect(report.unmatched.merchants).toBe(distinct.size); // no dimension files in this lake
    const lake = await LakeSql.open({ bronzeDir: dir, curatedDir: join(dir, '_curated'), dimensionsDir: join(dir, '_dim'), lineageDir: join(dir, '_lineage') });
    try {
      const [totals] = await lake.query.rows(`SELECT (SELECT sum(cnt) FROM merchant_daily) AS wide, (SELECT sum(cnt) FROM merchant_daily_status) AS long, (SELECT count(*) FROM payments) AS n`);
      expect([Number(totals?.wide), Number(totals?.long), Number(totals?.n)]).toEqual([distinct.size, distinct.size, distinct.size]);
      const failed = [...distinct.values()].filter((e) => e.status === 'failed').length;
      const [byStatus] = await lake.query.rows(`SELECT sum(cnt) AS n FROM merchant_daily_status WHERE status = 'failed'`);
      expect(Number(byStatus?.n)).toBe(failed);
    } finally {
      lake.close();
    }
    const complete = (await lineageEvents('curate')).filter((e) => e.eventType === 'COMPLETE');
    expect(complete).toHaveLength(1);
    expect(Object.fromEntries(complete[0]!.outputs.map((o) => [o.name.split('/').at(-1), o.outputFacets?.outputStatistics?.rowCount]))).toEqual(report.rows);
  }, 180_000);

  it('schedules every job kind as a BullMQ job scheduler', async () => {
    await queue.schedule();
    const schedulers = await queue.queue.getJobSchedulers();
    expect(new Map(schedulers.map((s) => [s.key, Number(s.every)]))).toEqual(
      new Map([
        ['graph-rebuild', config.batch.graphRebuildEveryMs],
        ['model-retrain', config.batch.retrainEveryMs],
        ['merchant-anomalies', config.batch.anomaliesEveryMs],
        ['quality-check', config.batch.qualityEveryMs],
        ['curate', config.batch.curateEveryMs],
      ]),
    );
  });

  it('serves the queue dashboard only with the configured credentials', async () => {
    const dashboard = await startDashboard({ host: '127.0.0.1', port: 0, user: 'ops', password: 's3cret', queues: [queue.queue] });
    try {
      const base = `http://127.0.0.1:${dashboard.port}${DASHBOARD_PATH}`;
      const auth = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
      const denied = await fetch(`${base}/api/queues`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect((await fetch(`${base}/api/queues`, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } })).status).toBe(401);
      const api = await fetch(`${base}/api/queues?activeQueue=it-batch&status=completed&page=1`, { headers: auth });
      expect(api.status).toBe(200);
      const body = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
      const q = body.queues.find((x) => x.name === 'it-batch');
      expect(q?.counts.completed).toBeGreaterThanOrEqual(2);
      const page = await fetch(base, { headers: auth });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      // The UI's own scripts and styles load (relative to its base), behind the same credentials.
      const assets = [...(await page.text()).matchAll(/(?:src|href)="(static\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
      expect(assets.filter((a) => a.endsWith('.js')).length).toBeGreaterThan(0);
      for (const asset of assets) {
        const res = await fetch(`${base}/${asset}`, { headers: auth });
        expect(res.status, asset).toBe(200);
        expect(res.headers.get('content-type'), asset).toMatch(asset.endsWith('.js') ? /javascript/ : /css/);
        expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
      }
      expect((await fetch(`${base}/${assets[0]}`)).status).toBe(401);
    } finally {
      await dashboard.close();
    }
  });
});

describe('RedisGraphStore on the local stack', () => {
  const config = testConfig();
  const keyPrefix = uniqueName('it_graph');
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
  afterAll(async () => {
    await unlinkByPrefix(redis, keyPrefix);
    await redis.quit();
  });

  it('switches to each new snapshot whole, keeps the newest three, and answers single-user reads', async () => {
    const store = new RedisGraphStore(redis, keyPrefix);
    expect(await store.currentUser('a')).toBeNull(); // no rebuild yet
    const contexts = (i: number) => Object.fromEntries(Array.from({ length: 2_500 }, (_, u) => [`u${u}`, { ringScore: (u % 10) / 10, componentSize: 2 + i }]));
    for (let i = 1; i <= 5; i += 1) {
      await store.publish({ id: `s${i}`, builtAtMs: 1_000 * i, contexts: contexts(i), neighbours: { u17: { component: 'u0', sharedWith: ['u16', 'u18'] }, u0: { component: 'u0', sharedWith: [] } }, summary: { n: i } });
      expect(await store.currentId()).toBe(`s${i}`);
    }
    expect((await store.load('s5')).size).toBe(2_500);
    expect((await store.load('s5')).get('u17')).toEqual({ ringScore: 0.7, componentSize: 7 });
    expect((await store.load('s2')).size).toBe(0); // deleted: older than the newest three
    expect(await redis.exists(`${keyPrefix}:graph:n:s2`, `${keyPrefix}:graph:meta:s2`)).toBe(0);
    expect((await store.load('s3')).size).toBe(2_500);
    expect(await store.meta('s5')).toEqual({ id: 's5', builtAtMs: 5_000, users: 2_500, n: 5 });
    expect(await store.currentUser('u17')).toEqual({ id: 's5', builtAtMs: 5_000, context: { ringScore: 0.7, componentSize: 7 }, component: 'u0', sharedWith: ['u16', 'u18'] });
    expect(await store.currentUser('u0')).toMatchObject({ component: 'u0', sharedWith: [] });
    expect(await store.currentUser('lonely')).toEqual({ id: 's5', builtAtMs: 5_000, context: { ringScore: 0, componentSize: 1 }, component: null, sharedWith: [] });
    // a retried publish of the same id rewrites the same content, nothing left from before
    await store.publish({ id: 's5', builtAtMs: 5_000, contexts: { only: { ringScore: 1, componentSize: 3 } }, neighbours: {}, summary: {} });
    expect([...(await store.load('s5')).keys()]).toEqual(['only']);
  });
});

describe('BatchQueue retries', () => {
  const config = testConfig();
  const keyPrefix = uniqueName('it_batchq');
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
  afterAll(async () => {
    await unlinkByPrefix(redis, keyPrefix);
    await redis.quit();
  });

  it('a failed attempt is retried with the same as-of time; every attempt is reported', async () => {
    const seen: number[] = [];
    const outcomes: string[] = [];
    const queue = new BatchQueue({
      redisUrl: config.redis.url, prefix: `${keyPrefix}:bull`, queueName: 'retry', attempts: 3, backoffMs: 20,
      logger: silentLogger(), work: true, onFinished: (_job, outcome) => void outcomes.push(outcome),
      jobs: [{ name: 'flaky', everyMs: 0, run: async (ctx) => {
        seen.push(ctx.asOfMs);
        if (seen.length < 3) throw new Error(`attempt ${seen.length} fails`);
        return { attempts: seen.length };
      } }, { name: 'terminal', everyMs: 0, run: async () => {
        throw new RiskstreamError(ErrorCodes.configInvalid, 'bad parameter');
      } }],
    });
    try {
      expect(await queue.runNow('flaky', 123_456, 30_000)).toEqual({ attempts: 3 });
      expect(seen).toEqual([123_456, 123_456, 123_456]);
      expect(outcomes).toEqual(['failed', 'failed', 'completed']);
      await expect(queue.runNow('unknown', 1, 1_000)).rejects.toThrow(/unknown batch job/);
      // A terminal error (the supervisor's "crash": bad config or parameters) is not retried.
      outcomes.length = 0;
      await expect(queue.runNow('terminal', 1, 30_000)).rejects.toThrow(/bad parameter/);
      expect(outcomes).toEqual(['failed']);
    } finally {
      await queue.close();
    }
  }, 60_000);
});
