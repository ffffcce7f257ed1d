import { rmSync } from 'node:fs';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import kafkajs, { type Admin } from 'kafkajs';
import { dropKeyspace, migrate } from '../../../src/adapters/cassandra/migrate.ts';
import { deleteGroups, deleteTopics, ensureTopics } from '../../../src/adapters/kafka/admin.ts';
import { BatchingProducer } from '../../../src/adapters/kafka/producer.ts';
import { unlinkByPrefix } from '../../../src/adapters/redis/admin.ts';
import { partitionKeys } from '../../../src/adapters/redis/keys.ts';
import { driveKafka } from '../../../src/cli/generate-drivers.ts';
import type { GeneratedTraffic } from '../../../src/generator/generate.ts';
import { fullTopicName, TopicBase, topics } from '../../../src/provision/topics.ts';
import type { Config } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { testConfig, uniqueName } from '../../support/services.ts';
import { REPO_ROOT, WorkerProcess } from '../../support/worker-process.ts';

const { Kafka, logLevel } = kafkajs;

export type PipelineName = 'merchant' | 'user' | 'history';

/** Input topic of each pipeline (logical name; the worker applies the prefix). */
const INPUT: Record<PipelineName, string> = { merchant: TopicBase.events, user: TopicBase.eventsByUser, history: TopicBase.scores };

/** One record as read back from a topic. */
export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
}

/**
 * One end-to-end run's world on the real local stack: every topic under a unique prefix, a unique
 * Redis key prefix and its own Cassandra keyspace (all provisioned by the product's own code),
 * the two workers as child processes, and readers for everything they write. `tearDown` removes
 * it all; worker logs are kept (and named) when the run failed.
 */
export class PipelineWorld {
  readonly id = uniqueName('e2e');
  readonly topicPrefix = `${this.id}.`;
  readonly keyPrefix = `e2e:${this.id}`;
  readonly keyspace = this.id;
  readonly config: Readonly<Config>;
  readonly logDir = join(REPO_ROOT, '.stack', 'tmp', 'e2e', this.id);
  readonly redis: Redis;
  readonly admin: Admin;
  readonly workers: WorkerProcess[] = [];
  readonly #logger = createLogger({ name: 'e2e', level: 'warn' });
  #cassandra: cassandra.Client | undefined;
  #seq = 0;

  constructor(readonly latenessMs: number) {
    this.config = testConfig({
      kafka: { topicPrefix: this.topicPrefix },
      redis: { keyPrefix: this.keyPrefix },
      cassandra: { keyspace: this.keyspace },
      runtime: { allowedLatenessMs: latenessMs },
    });
    const kafka = new Kafka({ clientId: `e2e-${this.id}`, brokers: [...this.config.kafka.brokers], logLevel: logLevel.NOTHING });
    this.admin = kafka.admin();
    this.redis = new Redis(this.config.redis.url, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
  }

  topic(base: string): string {
    return fullTopicName(this.topicPrefix, base);
  }

  group(pipeline: PipelineName): string {
    return `${this.topicPrefix}riskstream.${pipeline}`;
  }

  /** Topics and tables, as `npm run provision` creates them. */
  async setUp(): Promise<void> {
    await this.admin.connect();
    await ensureTopics(this.config, topics(this.topicPrefix), { logger: this.#logger });
    await migrate(this.config);
  }

  /**
   * Sends the traffic to payments.events as the generator's kafka mode does, at `rate` events/s
   * (0: as fast as possible); resolves with the number acknowledged.
   */
  async produce(traffic: GeneratedTraffic, rate: number): Promise<number> {
    const producer = new BatchingProducer({
      brokers: this.config.kafka.brokers, clientId: `e2e-${this.id}`, lingerMs: 2, maxBatchRecords: 10_000, sendTimeoutMs: 30_000, logger: this.#logger,
    });
    await producer.connect();
    try {
      const options = { rate, progress: () => undefined, sendLabels: async () => undefined };
      const report = await driveKafka(traffic, producer, this.topic(TopicBase.events), options);
      return report.accepted;
    } finally {
      await producer.close();
    }
  }

  /** Starts a worker of `pipeline` (not waiting for it); `extra` RISKSTREAM_* settings override. */
  startWorker(pipeline: PipelineName, extra: Record<string, string> = {}): WorkerProcess {
    this.#seq += 1;
    const worker = WorkerProcess.start({
      name: `${this.#seq}-${pipeline}`, pipeline, topic: INPUT[pipeline], group: this.group(pipeline), logDir: this.logDir,
      env: {
        RISKSTREAM_KAFKA_BROKERS: this.config.kafka.brokers.join(','),
        RISKSTREAM_KAFKA_TOPIC_PREFIX: this.topicPrefix,
        RISKSTREAM_KAFKA_SESSION_TIMEOUT_MS: '6000',
        RISKSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
        RISKSTREAM_REDIS_URL: this.config.redis.url,
        RISKSTREAM_REDIS_KEY_PREFIX: this.keyPrefix,
        RISKSTREAM_CASSANDRA_KEYSPACE: this.keyspace,
        RISKSTREAM_RUNTIME_ALLOWED_LATENESS_MS: String(this.latenessMs),
        // A replay of a day of history: aligned, so user histories follow event time.
        RISKSTREAM_RUNTIME_ALIGNMENT_MAX_DRIFT_MS: String(this.latenessMs),
        RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
        RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'info',
        ...extra,
      },
    });
    this.workers.push(worker);
    return worker;
  }

  async highWatermarks(pipeline: PipelineName): Promise<number[]> {
    const offsets = await this.admin.fetchTopicOffsets(this.topic(INPUT[pipeline]));
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  }

  #keys(pipeline: PipelineName, partition: number) {
    return partitionKeys(this.keyPrefix, { group: this.group(pipeline), topic: this.topic(INPUT[pipeline]), partition });
  }

  /** Per partition of the pipeline's input: the stored next offset, watermark and outbox length. */
  async durable(pipeline: PipelineName, partitions = 12): Promise<{ next: number; wm: number | null; outbox: number }[]> {
    const pipe = this.redis.pipeline();
    for (let p = 0; p < partitions; p += 1) {
      pipe.hmget(this.#keys(pipeline, p).meta, 'next_offset', 'wm');
      pipe.llen(this.#keys(pipeline, p).outbox);
    }
    const replies = (await pipe.exec()) ?? [];
    return Array.from({ length: partitions }, (_, p) => {
      const [next, wm] = replies[2 * p]![1] as (string | null)[];
      return { next: next == null ? 0 : Number(next), wm: wm == null ? null : Number(wm), outbox: Number(replies[2 * p + 1]![1]) };
    });
  }

  /** Records durably processed by a pipeline: the sum of its stored next offsets. */
  async progress(pipeline: PipelineName): Promise<number> {
    return (await this.durable(pipeline)).reduce((a, d) => a + d.next, 0);
  }

  /**
   * Stored next offset == high watermark on every partition, and every outbox drained (unless
   * `outboxDrained` is false: the input processed, effects may still wait in the outbox).
   */
  async caughtUp(pipeline: PipelineName, outboxDrained = true): Promise<boolean> {
    const [high, durable] = await Promise.all([this.highWatermarks(pipeline), this.durable(pipeline)]);
    return durable.every((d, p) => d.next === high[p] && (!outboxDrained || d.outbox === 0));
  }

  /**
   * Polls {@link caughtUp} until it holds. A read that fails is polled again until the deadline:
   * a broker that was restarted or frozen (SIGSTOP) answers "no leader" for a few seconds while
   * it re-registers with its controller, after the test's first successful read.
   */
  async waitCaughtUp(pipeline: PipelineName, timeoutMs: number, outboxDrained = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const poll = () => this.caughtUp(pipeline, outboxDrained).catch((err: unknown) => {
      if (Date.now() > deadline) throw err;
      return false;
    });
    while (!(await poll())) {
      if (Date.now() > deadline) {
        const [high, durable] = await Promise.all([this.highWatermarks(pipeline), this.durable(pipeline)]);
        throw new Error(`${pipeline} not caught up in ${timeoutMs} ms: high ${high}, durable ${JSON.stringify(durable)}; logs in ${this.logDir}`);
      }
      await sleep(250);
    }
  }

  /** Every record of a topic, per partition in offset order (reads up to the high watermarks). */
  async readTopic(base: string): Promise<Map<number, RawRecord[]>> {
    const topic = this.topic(base);
    const want = new Map((await this.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    const out = new Map<number, RawRecord[]>([...want.keys()].map((p) => [p, []]));
    const missing = () => [...want].filter(([p, high]) => high > 0 && (out.get(p)!.at(-1)?.offset ?? -1) < high - 1);
    if (missing().length === 0) return out;
    const kafka = new Kafka({ clientId: `e2e-read-${this.id}`, brokers: [...this.config.kafka.brokers], logLevel: logLevel.NOTHING });
    const groupId = `${this.topicPrefix}e2e-reader.${uniqueName('r')}`;
    const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${topic}: still missing ${JSON.stringify(missing())}`)), 120_000);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const list = out.get(batch.partition)!;
              for (const m of batch.messages) {
                list.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? null, value: m.value?.toString() ?? '' });
              }
              if (missing().length === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return out;
  }

  /** Every row of a table of this run's keyspace (paged). */
  async *rows(cql: string): AsyncGenerator<cassandra.types.Row> {
    this.#cassandra ??= new cassandra.Client({
      contactPoints: [...this.config.cassandra.contactPoints], localDataCenter: this.config.cassandra.localDataCenter, keyspace: this.keyspace,
    });
    let pageState: string | undefined;
    do {
      const page = await this.#cassandra.execute(cql, [], { prepare: true, fetchSize: 5_000, ...(pageState ? { pageState } : {}) });
      yield* page.rows;
      pageState = page.pageState;
    } while (pageState);
  }

  /** How many rows a query returns (all pages). */
  async countRows(cql: string): Promise<number> {
    let n = 0;
    for await (const _ of this.rows(cql)) n += 1;
    return n;
  }

  /** Latest live score (JSON) of each user, from Redis. */
  async liveUserScores(users: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < users.length; i += 1_000) {
      const slice = users.slice(i, i + 1_000);
      const values = await this.redis.mget(...slice.map((u) => `${this.keyPrefix}:live:user:${u}`));
      for (const [k, u] of slice.entries()) out.set(u, values[k] ?? null);
    }
    return out;
  }

  /** Removes the run's workers, topics, groups, keys and keyspace; keeps the logs if it failed. */
  async tearDown(passed: boolean): Promise<string | undefined> {
    await Promise.all(this.workers.map((w) => w.kill9()));
    await Promise.all(this.workers.map((w) => w.closeLog()));
    await this.#cassandra?.shutdown().catch(() => undefined);
    const groups = [this.group('merchant'), this.group('user'), this.group('history')];
    await deleteGroups(this.config, groups, this.#logger).catch(() => undefined);
    await deleteTopics(this.config, topics(this.topicPrefix).map((t) => t.name), this.#logger).catch(() => undefined);
    await this.admin.disconnect();
    await dropKeyspace(this.config, this.keyspace).catch(() => undefined);
    await unlinkByPrefix(this.redis, this.keyPrefix);
    await this.redis.quit();
    if (!passed) return this.logDir;
    rmSync(this.logDir, { recursive: true, force: true });
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
