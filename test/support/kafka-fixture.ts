import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { partitionKeys } from '../../src/adapters/redis/keys.ts';
import type { DeadLetter } from '../../src/runtime/dead-letter.ts';
import type { CountState, Msg } from './counting-actor.ts';
import { untilOk } from './stack-service.ts';
import { REPO_ROOT, WorkerProcess } from './worker-process.ts';

const { Kafka, logLevel, CompressionTypes } = kafkajs;

/**
 * One fault test's world on the real local stack: a unique input topic (12 partitions unless
 * told), its dead-letter topics, a unique consumer group and a unique Redis key prefix, plus the
 * helpers to feed the topic, watch the workers' durable progress and read the results.
 *
 * The durable progress of a partition is the `next_offset` the runtime stores in Redis with the
 * state (Kafka's committed offsets only trail it). "Caught up" means every partition's stored
 * next offset equals its high watermark AND its outbox is empty (dead letters are emitted after
 * the commit; an empty outbox means they reached Kafka).
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BROKERS = (process.env.RISKSTREAM_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
/** Logical input topic the workers read (the prefix is applied by the worker). */
export const INPUT = 'counter.input';
export const DLQ_LATE = 'dlq.late';
export const DLQ_INVALID = 'dlq.invalid';

let sequence = 0;

/** `<kind>_<pid>_<time>_<n>`: valid as a topic prefix, group name and Redis key prefix. */
export function uniqueName(kind: string): string {
  sequence += 1;
  return `${kind}_${process.pid}_${Date.now().toString(36)}_${sequence}`.toLowerCase();
}

export interface FixtureOptions {
  readonly name: string;
  readonly partitions?: number;
  /** Allowed lateness the workers run with (the oracle must use the same). */
  readonly latenessMs: number;
}

/** A message bound to the partition it is produced to (the oracle's partition). */
export interface Placed {
  readonly partition: number;
  readonly value: Buffer;
}

export class FaultFixture {
  readonly id: string;
  readonly partitions: number;
  readonly latenessMs: number;
  readonly topicPrefix: string;
  readonly topic: string;
  readonly group: string;
  readonly keyPrefix: string;
  readonly logDir: string;
  readonly redis: Redis;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly workers: WorkerProcess[] = [];
  #workerSeq = 0;

  constructor(options: FixtureOptions) {
    this.id = uniqueName(options.name);
    this.partitions = options.partitions ?? 12;
    this.latenessMs = options.latenessMs;
    this.topicPrefix = `${this.id}.`;
    this.topic = `${this.topicPrefix}${INPUT}`;
    this.group = `${this.id}.group`;
    this.keyPrefix = `fault:${this.id}`;
    this.logDir = join(REPO_ROOT, '.stack', 'tmp', 'fault', this.id);
    const kafka = new Kafka({ clientId: `fault-${this.id}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
    this.admin = kafka.admin();
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    // Commands wait through a Redis restart (fault d, or the stack's own tests) instead of failing.
    this.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
  }

  /** Creates the input topic and the dead-letter topics the workers emit to. */
  async setUp(): Promise<void> {
    await this.admin.connect();
    await this.producer.connect();
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: this.topic, numPartitions: this.partitions, replicationFactor: 1 },
        { topic: `${this.topicPrefix}${DLQ_LATE}`, numPartitions: 3, replicationFactor: 1 },
        { topic: `${this.topicPrefix}${DLQ_INVALID}`, numPartitions: 3, replicationFactor: 1 },
      ],
    });
  }

  /** Environment of a worker of this fixture; `extra` overrides. */
  workerEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RISKSTREAM_KAFKA_BROKERS: BROKERS.join(','),
      RISKSTREAM_KAFKA_TOPIC_PREFIX: this.topicPrefix,
      RISKSTREAM_KAFKA_SESSION_TIMEOUT_MS: '6000',
      RISKSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      RISKSTREAM_REDIS_URL: REDIS_URL,
      RISKSTREAM_REDIS_KEY_PREFIX: this.keyPrefix,
      RISKSTREAM_RUNTIME_ALLOWED_LATENESS_MS: String(this.latenessMs),
      RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
      RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'info',
      ...extra,
    };
  }

  /** Starts a worker on this fixture's topic and group (not waiting for it). */
  startWorker(extra: Record<string, string> = {}): WorkerProcess {
    this.#workerSeq += 1;
    const worker = WorkerProcess.start({
      name: `worker-${this.#workerSeq}`,
      topic: INPUT,
      group: this.group,
      env: this.workerEnv(extra),
      logDir: this.logDir,
    });
    this.workers.push(worker);
    return worker;
  }

  /** Produces messages in order, each to its own partition; resolves when all are acknowledged. */
  async produce(messages: readonly Placed[], chunk = 4_000): Promise<void> {
    for (let i = 0; i < messages.length; i += chunk) {
      const slice = messages.slice(i, i + chunk).map((m) => ({ partition: m.partition, value: m.value }));
      await this.producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [{ topic: this.topic, messages: slice }] });
    }
  }

  /** Produces one raw record and returns its offset. */
  async produceRaw(partition: number, value: Buffer): Promise<string> {
    const [meta] = await this.producer.send({ topic: this.topic, acks: -1, messages: [{ partition, value }] });
    if (!meta?.baseOffset) throw new Error('no offset in the produce reply');
    return meta.baseOffset;
  }

  async highWatermarks(): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  #ref(partition: number) {
    return partitionKeys(this.keyPrefix, { group: this.group, topic: this.topic, partition });
  }

  /** The stored next offset of every partition (0 when never committed). */
  async storedOffsets(): Promise<Map<number, number>> {
    const pipe = this.redis.pipeline();
    for (let p = 0; p < this.partitions; p += 1) pipe.hget(this.#ref(p).meta, 'next_offset');
    const replies = (await pipe.exec()) ?? [];
    return new Map(replies.map(([, value], p) => [p, value == null ? 0 : Number(value)]));
  }

  /** Events durably processed so far: the sum of the stored next offsets. */
  async progress(): Promise<number> {
    let sum = 0;
    for (const offset of (await this.storedOffsets()).values()) sum += offset;
    return sum;
  }

  async outboxLength(): Promise<number> {
    const pipe = this.redis.pipeline();
    for (let p = 0; p < this.partitions; p += 1) pipe.llen(this.#ref(p).outbox);
    const replies = (await pipe.exec()) ?? [];
    return replies.reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
  }

  /** Waits until every partition's stored offset is its high watermark and no outbox is pending. */
  async waitCaughtUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A broker just restarted or resumed may answer "no leader" for a few seconds.
    const high = await untilOk(() => this.highWatermarks(), timeoutMs);
    let last = '';
    while (Date.now() < deadline) {
      const stored = await this.storedOffsets();
      const behind = [...high].filter(([p, h]) => (stored.get(p) ?? 0) !== h);
      const outbox = behind.length === 0 ? await this.outboxLength() : -1;
      if (behind.length === 0 && outbox === 0) return;
      last = `behind ${JSON.stringify(behind.map(([p, h]) => [p, stored.get(p), h]))}, outbox ${outbox}`;
      await sleep(200);
    }
    throw new Error(`workers did not catch up within ${timeoutMs} ms: ${last}; logs in ${this.logDir}`);
  }

  /** Final counter states of every key, from the Redis state hashes. */
  async readStates(): Promise<Map<string, CountState>> {
    const states = new Map<string, CountState>();
    for (let p = 0; p < this.partitions; p += 1) {
      const hash = await this.redis.hgetall(this.#ref(p).state);
      for (const [field, value] of Object.entries(hash)) {
        const [actor, key] = field.split('\u0000');
        if (actor !== 'counter' || key === undefined) continue;
        if (states.has(key)) throw new Error(`key ${key} has state in two partitions`);
        states.set(key, JSON.parse(value.slice(value.indexOf(':') + 1)) as CountState);
      }
    }
    return states;
  }

  /** Every record on a dead-letter topic of this fixture, with its Kafka key. */
  async readDeadLetters(logical: string): Promise<{ key: string; letter: DeadLetter }[]> {
    const topic = `${this.topicPrefix}${logical}`;
    const ends = await this.admin.fetchTopicOffsets(topic);
    const want = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    const total = [...want.values()].reduce((a, b) => a + b, 0);
    if (total === 0) return [];
    const kafka = new Kafka({ clientId: `fault-dlq-${this.id}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${this.id}.dlq-reader.${uniqueName('r')}` });
    const letters: { key: string; letter: DeadLetter }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`read ${letters.length}/${total} dead letters`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            letters.push({ key: message.key?.toString() ?? '', letter: JSON.parse(message.value!.toString()) as DeadLetter });
            if (letters.length >= total) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    return letters;
  }

  /**
   * Stops every worker (SIGKILL), deletes the topics, the group and the Redis keys. Logs are
   * deleted when `passed`, else kept and their directory returned.
   */
  async tearDown(passed: boolean): Promise<string | undefined> {
    await Promise.all(this.workers.map((w) => w.kill9()));
    await Promise.all(this.workers.map((w) => w.closeLog()));
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.deleteGroups([this.group]).catch(() => undefined);
    const topics = [this.topic, `${this.topicPrefix}${DLQ_LATE}`, `${this.topicPrefix}${DLQ_INVALID}`];
    await this.admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    await this.admin.disconnect();
    await unlinkByPrefix(this.redis, this.keyPrefix);
    await this.redis.quit();
    if (passed) {
      rmSync(this.logDir, { recursive: true, force: true });
      return undefined;
    }
    return this.logDir;
  }
}

/** The stream's messages in production order: partition lists interleaved in `chunks` slices. */
export function placeStream(stream: Map<number, Msg[]>, chunks = 1): Placed[][] {
  const out: Placed[][] = Array.from({ length: chunks }, () => []);
  for (const [partition, msgs] of stream) {
    for (let c = 0; c < chunks; c += 1) {
      const from = Math.floor((c * msgs.length) / chunks);
      const to = Math.floor(((c + 1) * msgs.length) / chunks);
      for (const m of msgs.slice(from, to)) out[c]!.push({ partition, value: Buffer.from(JSON.stringify(m)) });
    }
  }
  return out;
}

/**
 * Starts two workers with small mailboxes (so a backlog stays in Kafka, not in memory), sends
 * two bursts to warm up, then bursts 2 .. `upTo` - 1 at once so a backlog is left for the fault
 * that follows. Returns the workers.
 */
export async function twoWorkersWithBacklog(fixture: FaultFixture, bursts: readonly Placed[][], upTo: number): Promise<WorkerProcess[]> {
  const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '200' };
  const workers = [fixture.startWorker(env), fixture.startWorker(env)];
  await Promise.all(workers.map((w) => w.waitRunning()));
  await fixture.produce(bursts[0]!);
  await sleep(300);
  await fixture.produce(bursts[1]!);
  await sleep(300);
  await fixture.produce(bursts.slice(2, upTo).flat());
  return workers;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
