/**
 * Entry point of the bronze archiver: payments.events → Parquet files by event date, exactly
 * once (see src/bronze/layout.ts). Its own consumer group and process, so it never slows the
 * real-time path. /metrics, /healthz, /readyz on observability.metricsPort.
 *
 *   npm run archiver      (env: RISKSTREAM_BRONZE_DIR, RISKSTREAM_BRONZE_GROUP_ID, ...)
 */
import { Counter, Histogram } from 'prom-client';
import { startOpsServer } from '../adapters/http/ops-server.ts';
import { KafkaArchiveSource } from '../adapters/kafka/archive-source.ts';
import { encodeBronzeParquet } from '../adapters/parquet/bronze-writer.ts';
import { Archiver } from '../bronze/archiver.ts';
import { BronzeStore } from '../bronze/store.ts';
import { fullTopicName, TopicBase } from '../provision/topics.ts';
import { loadConfig } from '../runtime/config.ts';
import { Lifecycle } from '../runtime/lifecycle.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.observability.logLevel, name: 'archiver' });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();
const registry = createRegistry('archiver');
const rows = new Counter({
  name: 'riskstream_bronze_rows_total',
  help: 'Rows committed to bronze',
  registers: [registry],
});
const segments = new Histogram({
  name: 'riskstream_bronze_segment_seconds',
  help: 'Time to encode and commit one segment',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const topic = fullTopicName(config.kafka.topicPrefix, TopicBase.events);
const store = new BronzeStore(config.bronze.dir);
const source = new KafkaArchiveSource({
  brokers: config.kafka.brokers,
  clientId: `${config.kafka.clientId}-archiver`,
  groupId: config.bronze.groupId,
  topic,
  sessionTimeoutMs: config.kafka.sessionTimeoutMs,
  heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
  logger,
});
const archiver = new Archiver(store, source, {
  topic,
  segmentMaxRecords: config.bronze.segmentMaxRecords,
  segmentMaxAgeMs: config.bronze.segmentMaxAgeMs,
  now: Date.now,
  logger,
  encode: encodeBronzeParquet,
  onSegment: (partition, n, ms) => {
    rows.inc(n);
    segments.observe(ms / 1000);
    logger.debug({ partition, rows: n, ms: Math.round(ms) }, 'segment committed');
  },
});

const ops = await startOpsServer({
  host: config.observability.metricsHost,
  port: config.observability.metricsPort,
  registry,
  healthy: () => lifecycle.state !== 'stopped',
  ready: () => source.isAssigned(),
});
const timer = setInterval(
  () => {
    archiver.flushDue().catch((err: unknown) => logger.error({ err }, 'timed flush failed'));
  },
  Math.max(100, Math.floor(config.bronze.segmentMaxAgeMs / 4)),
);

lifecycle.onStop('ops server', () => ops.close());
lifecycle.onStop('kafka consumer', async () => {
  clearInterval(timer);
  // Flush while the consumer can still commit the group's offsets (the lag metric), then again
  // for what arrived meanwhile: on disk either way, and the markers say where to resume.
  await archiver.flushDue(true);
  await source.stop();
  await archiver.flushDue(true);
});
await source.start(archiver);
lifecycle.markRunning();
logger.info(
  { topic, dir: config.bronze.dir, group: config.bronze.groupId, metricsPort: ops.port },
  'bronze archiver running',
);
