/**
 * Worker entry point: runs one pipeline's actors on the partitions this replica is assigned.
 *
 *   worker --pipeline counter [--topic <logical input topic>] [--group <consumer group>]
 *
 * Configuration comes from RISKSTREAM_* environment variables (see src/runtime/config.ts).
 * Started without V8 heap caps, it re-executes itself with them (RISKSTREAM_RUNTIME_HEAP_MIB,
 * RISKSTREAM_RUNTIME_SEMI_SPACE_MIB; see heap-budget.ts), before it connects to anything.
 */
import { parseArgs } from 'node:util';
import { CassandraUpsertSink } from '../adapters/cassandra/upsert-sink.ts';
import { TABLES } from '../adapters/cassandra/tables.ts';
import { endOffsets } from '../adapters/kafka/admin.ts';
import { KafkaEmitSink } from '../adapters/kafka/emit-sink.ts';
import { KafkaSource } from '../adapters/kafka/source.ts';
import { startOpsServer } from '../adapters/http/ops-server.ts';
import { checkEvictionPolicy, connectRedis, type EvictionCheck } from '../adapters/redis/admin.ts';
import { LiveScoreSink } from '../adapters/redis/live-scores.ts';
import { CurrentGraph, RedisGraphStore } from '../adapters/redis/graph-store.ts';
import { CurrentModel, RedisModelRegistry } from '../adapters/redis/model-registry.ts';
import { RedisStateStore } from '../adapters/redis/state-store.ts';
import { DEFAULT_MODEL } from '../analytics/default-model.ts';
import { pipelines, SCORING_PIPELINES } from '../actors/registry.ts';
import { loadConfig } from '../runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';
import { ActorHost } from '../runtime/host.ts';
import { Lifecycle } from '../runtime/lifecycle.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { createRuntimeMetrics } from '../runtime/runtime-metrics.ts';
import { type EffectSink, RoutingSink } from '../runtime/sink.ts';
import { LIVE_SCORES_SINK } from '../actors/user/user-actor.ts';
import { applyHeapBudget } from './heap-budget.ts';

const { values } = parseArgs({
  options: {
    pipeline: { type: 'string', default: 'counter' },
    topic: { type: 'string' },
    group: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
  },
});

const config = loadConfig(process.env);
const logger = createLogger({ name: 'worker', level: config.observability.logLevel });
applyHeapBudget(config.runtime, (message) => logger.warn(message));
const factory = pipelines[values.pipeline ?? ''];
if (!factory) {
  logger.fatal({ pipeline: values.pipeline, known: Object.keys(pipelines) }, 'unknown pipeline');
  process.exit(2);
}
const redis = connectRedis(config.redis.url, { autoPipelining: config.redis.autoPipelining });
// The model is swapped in place when a new version is promoted in the registry: no restart.
const currentModel = new CurrentModel(new RedisModelRegistry(redis, config.redis.keyPrefix), DEFAULT_MODEL);
// Likewise the graph snapshot of the last batch rebuild (ring score, component size per user).
const currentGraph = new CurrentGraph(new RedisGraphStore(redis, config.redis.keyPrefix));
const pipeline = factory({
  ...(values.topic === undefined ? {} : { topic: values.topic }),
  scoring: { model: () => currentModel.get(), graph: (userId) => currentGraph.get(userId) },
  allowedLatenessMs: config.runtime.allowedLatenessMs,
});
const topic = config.kafka.topicPrefix + pipeline.input.topic;
const group = values.group ?? `${config.kafka.topicPrefix}riskstream.${pipeline.name}`;
const registry = createRegistry('worker');
const metrics = createRuntimeMetrics(registry);
// Observed once per score: the labelled child once, not a label lookup per observation.
const scoreVisible = metrics.visibleSeconds.labels({ sink: LIVE_SCORES_SINK });
const lifecycle = new Lifecycle(logger);

const store = new RedisStateStore({
  redis, keyPrefix: config.redis.keyPrefix, onConnectionError: (err) => logger.warn({ err }, 'redis connection error; reconnecting'),
});
// The Cassandra client connects on its first write, so pipelines without upserts never connect.
const cassandraSink = new CassandraUpsertSink({
  contactPoints: config.cassandra.contactPoints, localDataCenter: config.cassandra.localDataCenter, keyspace: config.cassandra.keyspace,
});
const sink = new RoutingSink(
  new KafkaEmitSink({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-worker`, topicPrefix: config.kafka.topicPrefix, logger }),
  new Map<string, EffectSink>([
    ...Object.keys(TABLES).map((name): [string, EffectSink] => [name, cassandraSink]),
    [
      LIVE_SCORES_SINK,
      new LiveScoreSink(redis, config.redis.keyPrefix, undefined, undefined, (received) =>
        scoreVisible.observe(Math.max(0, Date.now() - received) / 1000),
      ),
    ],
  ]),
);
const host = new ActorHost({
  pipeline, group, topic, store, sink, clock: Date.now, metrics, logger: logger.child({ component: 'host', pipeline: pipeline.name }),
  endOffsets: () => endOffsets(config, topic, logger),
  settings: {
    allowedLatenessMs: config.runtime.allowedLatenessMs,
    handlerRetries: config.runtime.handlerRetries,
    maxBatchRecords: config.runtime.mailboxCapacity,
    idlePartitionMs: config.runtime.idlePartitionMs,
    maxActiveActors: config.runtime.maxActiveActors,
    maxActiveStateBytes: config.runtime.maxActiveStateBytes,
    maxUndrainedCommits: config.runtime.maxUndrainedCommits,
    maxUndrainedEffects: config.runtime.maxUndrainedEffects,
    outboxAckIntervalMs: config.runtime.outboxAckIntervalMs,
    alignment: { maxDriftMs: config.runtime.alignmentMaxDriftMs, pauseMs: config.runtime.alignmentPauseMs, refreshMs: 100 },
  },
});
const fatal = (err: unknown) => {
  logger.fatal({ err }, 'fatal error; exiting');
  void lifecycle.stop('fatal').finally(() => process.exit(1));
};
const source = new KafkaSource({
  brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-worker`,
  ...(config.kafka.instanceId === '' ? {} : { instanceId: config.kafka.instanceId }), groupId: group, topic, host,
  sessionTimeoutMs: config.kafka.sessionTimeoutMs, heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
  // A pipeline may ask for longer fetches (the history writer batches for Cassandra).
  fetchMaxWaitMs: pipeline.input.fetch?.maxWaitMs ?? config.kafka.fetchMaxWaitMs, fetchMinBytes: pipeline.input.fetch?.minBytes ?? config.kafka.fetchMinBytes,
  partitionsConsumedConcurrently: Number(values.concurrency), maxBytesPerPartition: 1024 * 1024, mailboxCapacity: config.runtime.mailboxCapacity,
  logger, onFatal: fatal,
});

const ops = await startOpsServer({
  host: config.observability.metricsHost, port: config.observability.metricsPort, registry,
  healthy: () => lifecycle.state !== 'stopped', ready: () => lifecycle.state === 'running' && host.assigned.size > 0,
});
lifecycle.onStop('ops-server', () => ops.close());
lifecycle.onStop('redis', async () => void redis.quit());
lifecycle.onStop('store', () => store.close());
lifecycle.onStop('sink', () => sink.close());
lifecycle.onStop('host', () => host.stop());
lifecycle.onStop('source', () => source.stop());
const idle = setInterval(() => void host.tickIdle(), Math.max(250, Math.floor(config.runtime.idlePartitionMs / 4)));
lifecycle.onStop('idle-ticker', async () => clearInterval(idle));
const lag = setInterval(() => void host.reportLag(), 5_000);
lifecycle.onStop('lag-reporter', async () => clearInterval(lag));
const refreshScoring = () =>
  Promise.all([
    currentModel.refresh().then(
      (version) => version && logger.info({ version }, 'model swapped'),
      (err: unknown) => logger.warn({ err }, 'model refresh failed; keeping the current model'),
    ),
    // Only pipelines that score hold the snapshot in memory.
    SCORING_PIPELINES.has(pipeline.name)
      ? currentGraph.refresh().then(
          (id) => id && logger.info({ snapshot: id, users: currentGraph.size }, 'graph snapshot swapped'),
          (err: unknown) => logger.warn({ err }, 'graph refresh failed; keeping the current snapshot'),
        )
      : undefined,
  ]);
const modelPoll = setInterval(() => void refreshScoring(), 5_000);
lifecycle.onStop('model-poll', async () => clearInterval(modelPoll));
lifecycle.installSignalHandlers();

// Before consuming anything: a Redis that may evict the store's keys would lose state silently.
// Retried while Redis does not answer (nothing can be processed without it anyway).
let eviction: EvictionCheck | undefined;
while (eviction === undefined) {
  try {
    eviction = await checkEvictionPolicy(redis);
  } catch (err) {
    logger.warn({ err }, 'redis unavailable; checking its maxmemory-policy again in 2 s');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}
if (eviction.safe === false) {
  const err = new RiskstreamError(ErrorCodes.configInvalid, `redis maxmemory-policy is ${eviction.policy}: it may evict actor states, dedup marks and positions; use noeviction or a volatile-* policy`);
  logger.fatal({ err }, 'unsafe redis configuration; exiting');
  await lifecycle.stop('config');
  process.exit(2);
}
if (eviction.safe === undefined) logger.warn('redis maxmemory-policy could not be read (CONFIG unavailable); make sure it is noeviction or volatile-*');

// The promoted model and the latest graph from the start, not after the first poll.
await refreshScoring();
await source.start();
lifecycle.markRunning();
logger.info({ pipeline: pipeline.name, topic, group, metricsPort: ops.port }, 'worker running');
