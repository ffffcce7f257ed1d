/**
 * One measurement's world for the pipeline benchmark (load-tests/bench-pipeline.ts): every
 * topic under a fresh prefix, a fresh Redis key prefix and a fresh Cassandra keyspace, all
 * provisioned by the product's own code; the API and workers as child processes with that
 * configuration; and the progress probes read from the state store (Redis holds each
 * partition's durable next offset and outbox, see src/adapters/redis/keys.ts).
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dropKeyspace, migrate } from '../src/adapters/cassandra/migrate.ts';
import { deleteGroups, deleteTopics, ensureTopics } from '../src/adapters/kafka/admin.ts';
import { topicEnds } from '../src/adapters/kafka/bench-tools.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../src/adapters/redis/api-key-store.ts';
import { partitionKeys } from '../src/adapters/redis/keys.ts';
import { newApiKey } from '../src/api/ingest/auth.ts';
import { fullTopicName, TopicBase, topics } from '../src/provision/topics.ts';
import { type Config, loadConfig } from '../src/runtime/config.ts';
import type { Logger } from '../src/runtime/logger.ts';
import { Child } from './processes.ts';

export type PipelineName = 'merchant' | 'user' | 'history';

const INPUT: Record<PipelineName, string> = { merchant: TopicBase.events, user: TopicBase.eventsByUser, history: TopicBase.scores };
const PIPELINES: readonly PipelineName[] = ['merchant', 'user', 'history'];
const PARTITIONS = 12;

/** Durable progress of one pipeline: per partition the stored next offset and outbox length. */
export interface Durable {
  readonly next: readonly number[];
  readonly outbox: readonly number[];
}

export const processed = (d: Durable): number => d.next.reduce((a, b) => a + b, 0);

export class BenchWorld {
  readonly id: string;
  readonly topicPrefix: string;
  readonly keyPrefix: string;
  readonly keyspace: string;
  readonly config: Readonly<Config>;
  readonly redis: Redis;
  readonly #children: Child[] = [];
  readonly #logDir: string;
  readonly #logger: Logger;
  readonly #extraGroups: string[] = [];

  /** `id` must be a valid Cassandra identifier (lower case, digits, `_`; ≤ 48 characters). */
  constructor(id: string, logDir: string, logger: Logger) {
    this.id = id;
    this.topicPrefix = `${id}.`;
    this.keyPrefix = `bench:${id}`;
    this.keyspace = id;
    this.#logDir = logDir;
    this.#logger = logger;
    this.config = loadConfig(process.env, {
      kafka: { topicPrefix: this.topicPrefix }, redis: { keyPrefix: this.keyPrefix }, cassandra: { keyspace: this.keyspace },
    });
    this.redis = new Redis(this.config.redis.url, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined); // reconnects by itself; calls that fail, fail loudly
  }

  topic(base: string): string {
    return fullTopicName(this.topicPrefix, base);
  }

  /** The worker's default group name for a pipeline (src/cli/worker.ts). */
  group(pipeline: PipelineName): string {
    return `${this.topicPrefix}riskstream.${pipeline}`;
  }

  /** Topics and tables as `npm run provision` creates them. */
  async setUp(): Promise<void> {
    await ensureTopics(this.config, topics(this.topicPrefix), { logger: this.#logger });
    await migrate(this.config);
  }

  /** RISKSTREAM_* of this world for a child process. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RISKSTREAM_KAFKA_TOPIC_PREFIX: this.topicPrefix,
      RISKSTREAM_REDIS_KEY_PREFIX: this.keyPrefix,
      RISKSTREAM_CASSANDRA_KEYSPACE: this.keyspace,
      RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
      RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...extra,
    };
  }

  startWorker(pipeline: PipelineName, concurrency: number, execArgv: readonly string[] = []): Child {
    const args = ['--pipeline', pipeline, '--concurrency', String(concurrency)];
    return this.#start(`worker-${pipeline}`, 'src/cli/worker.ts', this.env(), { args, execArgv });
  }

  startApi(port: number, execArgv: readonly string[] = []): Child {
    return this.#start('api', 'src/cli/api.ts', this.env({ RISKSTREAM_API_PORT: String(port), RISKSTREAM_API_RATE_LIMIT_EVENTS_PER_SEC: '100000000' }), { execArgv });
  }

  #start(name: string, script: string, env: Record<string, string>, extra: ConstructorParameters<typeof Child>[3]): Child {
    const child = new Child(script, env, join(this.#logDir, `${this.id}-${name}.log`), extra);
    child.start();
    this.#children.push(child);
    return child;
  }

  /** Stops every child of this world (SIGTERM: workers drain and, with --cpu-prof, write profiles). */
  async stopChildren(): Promise<void> {
    await Promise.all(this.#children.splice(0).map((c) => c.stop('SIGTERM', 30_000)));
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL to every child still running. */
  killChildrenNow(): void {
    for (const child of this.#children) if (child.running) void child.stop('SIGKILL', 0);
  }

  /** An API key with ingest and read scopes and no practical rate limit. */
  async apiKey(): Promise<string> {
    const key = newApiKey();
    await new RedisApiKeyStore(this.redis, this.keyPrefix).put(key.hash, {
      keyId: key.keyId, name: this.id, scopes: ['ingest', 'read'], createdMs: Date.now(), rateLimitPerSec: 100_000_000,
    });
    return key.key;
  }

  /** A throw-away consumer group of the benchmark, deleted in tearDown. */
  readerGroup(name: string): string {
    const group = `${this.topicPrefix}bench.${name}`;
    this.#extraGroups.push(group);
    return group;
  }

  /** High watermark per partition of a pipeline's input topic (index = partition). */
  async highs(pipeline: PipelineName): Promise<number[]> {
    return this.topicHighs(INPUT[pipeline]);
  }

  async topicHighs(base: string): Promise<number[]> {
    const ends = await topicEnds({ brokers: this.config.kafka.brokers, clientId: `${this.id}-bench`, logger: this.#logger }, this.topic(base));
    if (!ends) throw new Error(`topic ${this.topic(base)} does not exist`);
    return Array.from({ length: ends.size }, (_, p) => ends.get(p) ?? 0);
  }

  /** Every pipeline's durable progress in one Redis round trip. */
  async durable(): Promise<Record<PipelineName, Durable>> {
    const pipe = this.redis.pipeline();
    for (const pipeline of PIPELINES) {
      for (let p = 0; p < PARTITIONS; p += 1) {
        const keys = partitionKeys(this.keyPrefix, { group: this.group(pipeline), topic: this.topic(INPUT[pipeline]), partition: p });
        pipe.hget(keys.meta, 'next_offset');
        pipe.llen(keys.outbox);
      }
    }
    const replies = (await pipe.exec()) ?? [];
    const at = (i: number) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return value == null ? 0 : Number(value);
    };
    const read = (k: number): Durable => ({
      next: Array.from({ length: PARTITIONS }, (_, p) => at(k * 2 * PARTITIONS + 2 * p)),
      outbox: Array.from({ length: PARTITIONS }, (_, p) => at(k * 2 * PARTITIONS + 2 * p + 1)),
    });
    return { merchant: read(0), user: read(1), history: read(2) };
  }

  /** Everything below `highs` durably processed and every effect performed (outboxes empty). */
  static caughtUp(d: Durable, highs: readonly number[]): boolean {
    return highs.every((h, p) => (d.next[p] ?? 0) >= h) && d.outbox.every((n) => n === 0);
  }

  /**
   * Waits until the pipelines have processed everything in payments.events: the merchant
   * pipeline up to `eventHighs` with its outbox (the re-keyed records) drained, then the user
   * pipeline up to the by-user high watermarks of that moment with its outbox (scores) drained,
   * then the history writer up to risk.scores' high watermarks of that moment (every score in
   * Cassandra). Calls `onPoll` with each reading. Returns the by-user high watermarks.
   */
  async waitScored(eventHighs: readonly number[], timeoutMs: number, onPoll: (d: Record<PipelineName, Durable>) => void = () => undefined, pollMs = 50): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    let userHighs: number[] | undefined;
    let scoreHighs: number[] | undefined;
    for (;;) {
      const d = await this.durable();
      onPoll(d);
      if (!userHighs && BenchWorld.caughtUp(d.merchant, eventHighs)) userHighs = await this.highs('user');
      if (userHighs && !scoreHighs && BenchWorld.caughtUp(d.user, userHighs)) scoreHighs = await this.highs('history');
      if (userHighs && scoreHighs && BenchWorld.caughtUp(d.history, scoreHighs)) return userHighs;
      if (Date.now() > deadline) {
        const state = `merchant ${processed(d.merchant)}, user ${processed(d.user)}, history ${processed(d.history)}`;
        throw new Error(`${this.id}: not everything scored within ${timeoutMs} ms (${state}); logs in ${this.#logDir}`);
      }
      if (this.#children.some((c) => !c.running)) throw new Error(`${this.id}: a child process exited; logs in ${this.#logDir}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Removes topics, groups, Redis keys and the keyspace (unless `keep`). */
  async tearDown(keep: boolean): Promise<void> {
    await this.stopChildren();
    if (!keep) {
      const groups = [...PIPELINES.map((p) => this.group(p)), ...this.#extraGroups];
      await deleteGroups(this.config, groups, this.#logger).catch(() => undefined);
      await deleteTopics(this.config, topics(this.topicPrefix).map((t) => t.name), this.#logger).catch(() => undefined);
      await unlinkByPrefix(this.redis, this.keyPrefix).catch(() => 0);
      // dropKeyspace truncates first: a bare drop right after heavy writes once stopped the local Cassandra.
      await dropKeyspace(this.config, this.keyspace).catch(() => undefined);
    }
    await this.redis.quit().catch(() => undefined);
  }
}
