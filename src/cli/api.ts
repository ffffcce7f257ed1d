/**
 * Entry point of the `api` process (ingest). Wires config → Kafka producer, Redis key store,
 * metrics, logger → the Fastify app, and listens on api.host:api.port.
 *
 *   npm run api        (env: RISKSTREAM_API_PORT, RISKSTREAM_KAFKA_BROKERS, ...)
 *
 * Starts even when Kafka is down (readyz 503, ingest 503) and keeps trying to connect.
 */
import { BatchingProducer } from '../adapters/kafka/producer.ts';
import { connectRedis } from '../adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../adapters/redis/api-key-store.ts';
import { StoreLookupReader } from '../adapters/cassandra/lookup-reader.ts';
import { RedisGraphStore } from '../adapters/redis/graph-store.ts';
import { LiveScoreReader } from '../adapters/redis/live-scores.ts';
import { buildIngestApp } from '../api/ingest/app.ts';
import { loadConfig } from '../runtime/config.ts';
import { Lifecycle } from '../runtime/lifecycle.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { applyHeapBudget } from './heap-budget.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.observability.logLevel, name: 'api' });
// Before anything connects: applying the budget may re-execute this process (same pid).
applyHeapBudget(config.api, (message) => logger.warn(message));
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

const registry = createRegistry('api');
// Bounded: a frozen or unreachable Redis fails a lookup or key read in storeTimeoutMs (503).
const redis = connectRedis(config.redis.url, { commandTimeoutMs: config.api.storeTimeoutMs });
redis.on('error', (err: Error) => logger.warn({ err }, 'redis (api keys) error'));
lifecycle.onStop('redis', async () => void (await redis.quit()));
const producer = new BatchingProducer({
  brokers: config.kafka.brokers,
  clientId: `${config.kafka.clientId}-api`,
  lingerMs: config.api.kafkaLingerMs,
  maxBatchRecords: config.api.kafkaMaxBatchRecords,
  sendTimeoutMs: config.api.kafkaSendTimeoutMs,
  logger,
});
lifecycle.onStop('kafka producer', () => producer.close());

const lookup = new StoreLookupReader({
  contactPoints: config.cassandra.contactPoints,
  localDataCenter: config.cassandra.localDataCenter,
  keyspace: config.cassandra.keyspace,
  live: new LiveScoreReader(redis, config.redis.keyPrefix),
  graph: new RedisGraphStore(redis, config.redis.keyPrefix),
  readTimeoutMs: config.api.storeTimeoutMs,
});
lifecycle.onStop('cassandra (lookup)', () => lookup.close());
const app = buildIngestApp({ config, sink: producer, keys: new RedisApiKeyStore(redis, config.redis.keyPrefix), logger, registry, lookup });
lifecycle.onStop('http', () => app.close());

async function connectWithRetry(): Promise<void> {
  for (let attempt = 1; lifecycle.state !== 'draining' && lifecycle.state !== 'stopped'; attempt += 1) {
    try {
      await producer.connect();
      logger.info('kafka producer connected');
      return;
    } catch (err) {
      logger.warn({ err, attempt }, 'kafka producer connect failed; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
    }
  }
}

await app.listen({ host: config.api.host, port: config.api.port });
void connectWithRetry().then(() => lifecycle.markRunning());
logger.info({ host: config.api.host, port: config.api.port }, 'ingest api listening');
