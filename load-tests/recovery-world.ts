/**
 * The recovery benchmark's world on the local stack: a fresh 12-partition counter topic (and the
 * dead-letter topics a worker may write), a fresh consumer group and Redis key prefix, worker
 * processes (`src/cli/worker.ts --pipeline counter`, the production entry point with its default
 * Kafka session settings unless the environment overrides them), and what the benchmark reads
 * back: each partition's durable position and fencing epoch (the `meta` hash the commit script
 * writes, src/adapters/redis/keys.ts), which worker claimed what (its 'partition claimed' log
 * lines), and the counter states.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { deleteGroups, deleteTopics, endOffsets } from '../src/adapters/kafka/admin.ts';
import { createKafka } from '../src/adapters/kafka/client.ts';
import { unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { MetaFields, partitionKeys } from '../src/adapters/redis/keys.ts';
import { TopicBase } from '../src/provision/topics.ts';
import { type Config, loadConfig } from '../src/runtime/config.ts';
import type { Logger } from '../src/runtime/logger.ts';
import { Child } from './processes.ts';

export const PARTITIONS = 12;
const INPUT = 'recovery.counter';
const DEAD_LETTER_TOPICS = [TopicBase.dlqLate, TopicBase.dlqInvalid, TopicBase.dlqProcessing];

/** Every partition's stored fencing epoch and next offset, read in one round trip. */
export interface Positions {
  readonly at: number;
  readonly epoch: readonly number[];
  readonly next: readonly number[];
}

export class RecoveryWorker {
  readonly name: string;
  /** Its kafka.instanceId (a pod's name), or null when started without one. */
  readonly instance: string | null;
  readonly logFile: string;
  readonly child: Child;

  constructor(name: string, instance: string | null, logFile: string, child: Child) {
    this.name = name;
    this.instance = instance;
    this.logFile = logFile;
    this.child = child;
  }

  /** The pino records of this worker with `msg`, with their time in ms. */
  records(msg: string): { at: number; fields: Record<string, unknown> }[] {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: { at: number; fields: Record<string, unknown> }[] = [];
    for (const line of text.split('\n')) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      const fields = JSON.parse(line) as Record<string, unknown>;
      out.push({ at: Date.parse(String(fields.time)), fields });
    }
    return out;
  }

  /** Partition → the epoch of this worker's latest claim of it. */
  claims(): Map<number, number> {
    const claims = new Map<number, number>();
    for (const r of this.records('partition claimed')) claims.set(Number(r.fields.partition), Number(r.fields.epoch));
    return claims;
  }
}

export class RecoveryWorld {
  readonly id: string;
  readonly config: Readonly<Config>;
  readonly topic: string;
  readonly group: string;
  readonly redis: Redis;
  readonly #logDir: string;
  readonly #logger: Logger;
  readonly #workers: RecoveryWorker[] = [];
  #producer: Producer | undefined;
  #sequence = 0;

  constructor(id: string, logDir: string, logger: Logger) {
    this.id = id;
    this.#logDir = logDir;
    this.#logger = logger;
    this.config = loadConfig(process.env, { kafka: { topicPrefix: `${id}.` }, redis: { keyPrefix: `bench:${id}` } });
    this.topic = `${this.config.kafka.topicPrefix}${INPUT}`;
    this.group = `${id}.group`;
    this.redis = new Redis(this.config.redis.url, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
  }

  async setUp(): Promise<Producer> {
    const admin = createKafka(this.config, this.#logger, 'bench-recovery-admin').admin();
    await admin.connect();
    try {
      const topics = [
        { topic: this.topic, numPartitions: PARTITIONS, replicationFactor: 1 },
        ...DEAD_LETTER_TOPICS.map((t) => ({ topic: `${this.config.kafka.topicPrefix}${t}`, numPartitions: 3, replicationFactor: 1 })),
      ];
      await admin.createTopics({ waitForLeaders: true, topics });
    } finally {
      await admin.disconnect();
    }
    this.#producer = createKafka(this.config, this.#logger, 'bench-recovery').producer({
      idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false,
    });
    await this.#producer.connect();
    return this.#producer;
  }

  /**
   * Starts a worker. `instance`: the kafka.instanceId it runs under — a new pod's name by
   * default, the killed worker's to model a container restarted in its pod, null for none
   * (workers then wait for a dead member's session like before instance ids existed).
   */
  startWorker(instance?: string | null): RecoveryWorker {
    this.#sequence += 1;
    const name = `worker-${this.#sequence}`;
    const logFile = join(this.#logDir, `${name}.log`);
    const id = instance === undefined ? `pod-${this.#sequence}` : instance;
    const env = {
      ...(id === null ? {} : { RISKSTREAM_KAFKA_INSTANCE_ID: id }),
      RISKSTREAM_KAFKA_TOPIC_PREFIX: this.config.kafka.topicPrefix,
      RISKSTREAM_REDIS_KEY_PREFIX: this.config.redis.keyPrefix,
      RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
      RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'info',
    };
    const args = ['--pipeline', 'counter', '--topic', INPUT, '--group', this.group];
    // plain: the container's command (Node's type stripping, no loader), so start-up is as in a pod
    const child = new Child('src/cli/worker.ts', env, logFile, { args, plain: true });
    child.start();
    const worker = new RecoveryWorker(name, id, logFile, child);
    this.#workers.push(worker);
    return worker;
  }

  #keys(partition: number) {
    return partitionKeys(this.config.redis.keyPrefix, { group: this.group, topic: this.topic, partition });
  }

  async positions(): Promise<Positions> {
    const pipe = this.redis.pipeline();
    for (let p = 0; p < PARTITIONS; p += 1) pipe.hmget(this.#keys(p).meta, MetaFields.epoch, MetaFields.nextOffset);
    const replies = (await pipe.exec()) ?? [];
    const at = Date.now();
    const pairs = replies.map(([err, value]) => {
      if (err) throw err;
      const [epoch, next] = value as (string | null)[];
      return [Number(epoch ?? 0), Number(next ?? 0)] as const;
    });
    return { at, epoch: pairs.map((p) => p[0]), next: pairs.map((p) => p[1]) };
  }

  /** Resolves once every partition's stored position is its end offset and its outbox is empty. */
  async waitCaughtUp(timeoutMs: number): Promise<void> {
    const ends = await endOffsets(this.config, this.topic, this.#logger);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { next } = await this.positions();
      const pipe = this.redis.pipeline();
      for (let p = 0; p < PARTITIONS; p += 1) pipe.llen(this.#keys(p).outbox);
      const outbox = ((await pipe.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
      if (outbox === 0 && next.every((n, p) => n === Number(ends.get(p) ?? 0))) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`workers did not catch up within ${timeoutMs} ms`);
  }

  /** Every counter state, by key (the state hash field is `counter\0<key>`, the value `v1:<json>`). */
  async states(): Promise<Map<string, { count: number; sum: number }>> {
    const states = new Map<string, { count: number; sum: number }>();
    for (let p = 0; p < PARTITIONS; p += 1) {
      const hash = await this.redis.hgetall(this.#keys(p).state);
      for (const [field, value] of Object.entries(hash)) {
        const [actor, key] = field.split('\u0000');
        if (actor !== 'counter' || key === undefined) continue;
        states.set(key, JSON.parse(value.slice(value.indexOf(':') + 1)) as { count: number; sum: number });
      }
    }
    return states;
  }

  /** Stops every worker still running, deletes the topics, the group and the Redis keys. */
  async tearDown(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.child.stop('SIGTERM', 20_000)));
    await this.#producer?.disconnect().catch(() => undefined);
    const topics = [this.topic, ...DEAD_LETTER_TOPICS.map((t) => `${this.config.kafka.topicPrefix}${t}`)];
    await deleteGroups(this.config, [this.group], this.#logger).catch(() => undefined);
    await deleteTopics(this.config, topics, this.#logger).catch(() => undefined);
    await unlinkByPrefix(this.redis, this.config.redis.keyPrefix);
    await this.redis.quit();
  }
}
