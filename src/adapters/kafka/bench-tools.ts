import './group-fix.ts'; // before kafkajs (see group-fix.ts)
import kafkajs, { type Admin, type Message } from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaClient } from './client.ts';

const { CompressionTypes } = kafkajs;

/**
 * kafkajs pieces of the runtime benchmark (src/cli/bench-runtime.ts): a bulk pre-fill producer
 * and the raw consume-only baseline. They live here because only adapters import kafkajs.
 */
export interface BenchKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
}

function kafkaOf(options: BenchKafkaOptions) {
  return kafkaClient({ clientId: options.clientId, brokers: options.brokers, logger: options.logger });
}

async function withAdmin<T>(options: BenchKafkaOptions, body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaOf(options).admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

/** High watermark of every partition of `topic`, or undefined when the topic does not exist. */
export async function topicEnds(options: BenchKafkaOptions, topic: string): Promise<Map<number, number> | undefined> {
  return withAdmin(options, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  });
}

/** Deletes `topic` if it exists and creates it empty with `partitions` partitions. */
export async function recreateTopic(options: BenchKafkaOptions, topic: string, partitions: number): Promise<void> {
  await withAdmin(options, async (admin) => {
    if ((await admin.listTopics()).includes(topic)) {
      await admin.deleteTopics({ topics: [topic], timeout: 60_000 });
      // Deletion is asynchronous on the broker: wait until the name is free again.
      for (let i = 0; i < 100 && (await admin.listTopics()).includes(topic); i += 1) await sleep(200);
    }
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
  });
}

export async function deleteGroups(options: BenchKafkaOptions, groups: readonly string[]): Promise<void> {
  await withAdmin(options, async (admin) => {
    await admin.deleteGroups([...groups]).catch(() => undefined);
  });
}

export interface PrefillOptions {
  readonly topic: string;
  readonly events: number;
  /** The i-th record: key, value and partition. */
  readonly record: (i: number) => { key: string; value: string; partition: number };
  /** Records per produce request and requests in flight (no per-message awaits). */
  readonly batchRecords: number;
  readonly inFlight: number;
  readonly onProgress?: (produced: number) => void;
}

/** Produces `events` records in large batches with several requests in flight (acks=1). */
export async function prefill(options: BenchKafkaOptions, fill: PrefillOptions): Promise<void> {
  const producer = kafkaOf(options).producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  try {
    let next = 0;
    let produced = 0;
    const lane = async () => {
      while (next < fill.events) {
        const from = next;
        const to = Math.min(fill.events, from + fill.batchRecords);
        next = to;
        const messages: Message[] = [];
        for (let i = from; i < to; i += 1) messages.push(fill.record(i));
        await producer.send({ topic: fill.topic, acks: 1, compression: CompressionTypes.None, messages });
        produced += to - from;
        fill.onProgress?.(produced);
      }
    };
    await Promise.all(Array.from({ length: fill.inFlight }, lane));
  } finally {
    await producer.disconnect();
  }
}

export interface RawConsumeOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly expected: number;
  readonly partitionsConsumedConcurrently: number;
  readonly maxBytesPerPartition: number;
  readonly timeoutMs: number;
  readonly onFirstBatch?: () => void;
}

export interface ConsumeTiming {
  readonly events: number;
  /** performance.now() of the first batch and of the moment `expected` was reached. */
  readonly firstAtMs: number;
  readonly doneAtMs: number;
}

/**
 * The baseline: a consumer group that only counts messages, with eachBatch and the worker's
 * fetch settings (same maxBytesPerPartition and partitionsConsumedConcurrently; kafkajs
 * defaults for minBytes and maxWaitTime, as the worker uses them).
 */
export async function rawConsume(options: BenchKafkaOptions, raw: RawConsumeOptions): Promise<ConsumeTiming> {
  const consumer = kafkaOf(options).consumer({ groupId: raw.groupId, maxBytesPerPartition: raw.maxBytesPerPartition });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [raw.topic], fromBeginning: true });
    return await new Promise<ConsumeTiming>((resolve, reject) => {
      let events = 0;
      let firstAtMs = 0;
      const timer = setTimeout(() => reject(new Error(`raw consumer read ${events}/${raw.expected} in ${raw.timeoutMs} ms`)), raw.timeoutMs);
      consumer
        .run({
          partitionsConsumedConcurrently: raw.partitionsConsumedConcurrently,
          eachBatch: async ({ batch }) => {
            if (firstAtMs === 0) {
              firstAtMs = performance.now();
              raw.onFirstBatch?.();
            }
            events += batch.messages.length;
            if (events >= raw.expected) {
              clearTimeout(timer);
              resolve({ events, firstAtMs, doneAtMs: performance.now() });
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
