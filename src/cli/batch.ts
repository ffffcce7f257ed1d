/**
 * Entry point of the batch layer (PRODUCT §5): BullMQ jobs in their own process, separate from
 * the stream workers so batch load never starves the stream.
 *
 *   batch                         run the scheduled jobs (graph rebuild, model retrain, merchant
 *                                 anomalies, data quality, curated layer) until SIGTERM; /metrics on
 *                                 observability.metricsPort; the queue dashboard when
 *                                 RISKSTREAM_BATCH_DASHBOARD_PASSWORD is set
 *   batch --run <job> [--as-of <ISO time or epoch ms>] [--param key=value ...]
 *                                 run one job now, print its result as JSON, exit (0 done, 1 failed);
 *                                 e.g. --run dlq-replay --param topic=dlq.invalid
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDashboard } from '../adapters/bullmq/dashboard.ts';
import { BatchQueue } from '../adapters/bullmq/batch-queue.ts';
import { BronzeLakeReader } from '../adapters/duckdb/bronze-reader.ts';
import { DuckDbCuratedLake } from '../adapters/duckdb/curated.ts';
import { FileLineageSink } from '../adapters/file/lineage-file.ts';
import { KafkaDeadLetterReader, KafkaRepublisher } from '../adapters/kafka/dlq.ts';
import { RedisDlqCursors } from '../adapters/redis/dlq-cursors.ts';
import { startOpsServer } from '../adapters/http/ops-server.ts';
import { KafkaLabelReader } from '../adapters/kafka/labels-reader.ts';
import { connectRedis } from '../adapters/redis/admin.ts';
import { RedisReportStore } from '../adapters/redis/batch-reports.ts';
import { RedisGraphStore } from '../adapters/redis/graph-store.ts';
import { RedisModelRegistry } from '../adapters/redis/model-registry.ts';
import { DEFAULT_MODEL } from '../analytics/default-model.ts';
import { batchJobs, contractProblem, JOB_NAMES } from '../batch/jobs.ts';
import { createBatchMetrics } from '../batch/metrics.ts';
import { fullTopicName, TopicBase } from '../provision/topics.ts';
import { loadConfig } from '../runtime/config.ts';
import { Lifecycle } from '../runtime/lifecycle.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    'as-of': { type: 'string' },
    'timeout-ms': { type: 'string', default: '1800000' },
    param: { type: 'string', multiple: true },
  },
});

const config = loadConfig(process.env);
const logger = createLogger({ name: 'batch', level: config.observability.logLevel });
if (values.run !== undefined && !(JOB_NAMES as readonly string[]).includes(values.run)) {
  logger.fatal({ job: values.run, known: JOB_NAMES }, 'unknown batch job');
  process.exit(2);
}

const redis = connectRedis(config.redis.url);
const prefix = config.redis.keyPrefix;
const topic = (base: string) => fullTopicName(config.kafka.topicPrefix, base);
const labelsTopic = topic(TopicBase.labels);
const republisher = new KafkaRepublisher(config, logger);

const jobs = batchJobs(config, {
  lake: new BronzeLakeReader(config.bronze.dir),
  curated: new DuckDbCuratedLake({ bronzeDir: config.bronze.dir, dimensionsDir: config.batch.dimensionsDir, curatedDir: config.batch.curatedDir }),
  labels: new KafkaLabelReader(config, labelsTopic, logger),
  graph: new RedisGraphStore(redis, prefix),
  models: new RedisModelRegistry(redis, prefix),
  reports: new RedisReportStore(redis, prefix),
  fallbackModel: DEFAULT_MODEL,
  lineage: new FileLineageSink(config.batch.lineageDir),
  datasets: {
    lake: { namespace: 'file', name: resolve(config.bronze.dir) },
    curated: { namespace: 'file', name: resolve(config.batch.curatedDir) },
    dimensions: { namespace: 'file', name: resolve(config.batch.dimensionsDir) },
    labels: { namespace: `kafka://${config.kafka.brokers[0]}`, name: labelsTopic },
    redis: { namespace: `redis://${new URL(config.redis.url).host}`, keyPrefix: prefix },
  },
  now: Date.now,
  dlq: {
    dlq: new KafkaDeadLetterReader(config, logger),
    republish: republisher,
    cursors: new RedisDlqCursors(redis, prefix),
    topics: { invalid: topic(TopicBase.dlqInvalid), processing: topic(TopicBase.dlqProcessing), late: topic(TopicBase.dlqLate) },
    targets: new Set([topic(TopicBase.events), topic(TopicBase.eventsByUser)]),
    validate: contractProblem,
    namespace: `kafka://${config.kafka.brokers[0]}`,
  },
});
const registry = createRegistry('batch');
const metrics = createBatchMetrics(registry);
const queue = new BatchQueue({
  redisUrl: config.redis.url,
  prefix: `${prefix}:bull`,
  queueName: config.batch.queueName,
  jobs,
  attempts: config.batch.attempts,
  backoffMs: config.batch.backoffMs,
  lockDurationMs: config.batch.lockDurationMs,
  logger,
  work: true,
  onFinished: (job, outcome, s, result) => metrics.finished(job, outcome, s, result, Date.now()),
});

if (values.run !== undefined) {
  const asOf = values['as-of'];
  const asOfMs = asOf === undefined ? Date.now() : /^\d+$/.test(asOf) ? Number(asOf) : Date.parse(asOf);
  let code = 0;
  try {
    if (!Number.isFinite(asOfMs)) throw new Error(`--as-of: not a time: ${asOf}`);
    const params = Object.fromEntries((values.param ?? []).map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new Error(`--param: expected key=value, got "${p}"`);
      return [p.slice(0, at), p.slice(at + 1)];
    }));
    const result = await queue.runNow(values.run, asOfMs, Number(values['timeout-ms']), params);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    logger.error({ err, job: values.run }, 'batch job failed');
    code = 1;
  }
  await queue.close();
  await republisher.close();
  redis.disconnect();
  process.exit(code);
}

for (const j of jobs) metrics.scheduled(j.name, j.everyMs);
const lifecycle = new Lifecycle(logger);
// Stopped in reverse: the queue (and a running job) first, Redis last.
lifecycle.onStop('redis', async () => void redis.quit());
await queue.schedule();
const ops = await startOpsServer({
  host: config.observability.metricsHost, port: config.observability.metricsPort, registry,
  healthy: () => lifecycle.state !== 'stopped', ready: () => lifecycle.state === 'running',
});
lifecycle.onStop('ops-server', () => ops.close());
if (config.batch.dashboardPassword.length > 0) {
  const dashboard = await startDashboard({
    host: config.batch.dashboardHost, port: config.batch.dashboardPort,
    user: config.batch.dashboardUser, password: config.batch.dashboardPassword, queues: [queue.queue],
  });
  lifecycle.onStop('dashboard', () => dashboard.close());
  logger.info({ port: dashboard.port, path: '/queues' }, 'queue dashboard listening');
} else {
  logger.info('queue dashboard off (set RISKSTREAM_BATCH_DASHBOARD_PASSWORD to serve it)');
}
lifecycle.onStop('republisher', () => republisher.close());
lifecycle.onStop('queue', () => queue.close());
lifecycle.installSignalHandlers();
lifecycle.markRunning();
logger.info({ jobs: jobs.map((j) => ({ name: j.name, everyMs: j.everyMs })), metricsPort: ops.port }, 'batch process running');
