import './group-fix.ts'; // before kafkajs (see group-fix.ts)
import kafkajs, { type ICustomPartitioner, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { kafkaClient } from './client.ts';

const { CompressionTypes } = kafkajs;

export interface KafkaEmitSinkOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly logger: Logger;
  /**
   * Upper bound of one produce request's payload (keys + values + per-record overhead). Kafka
   * refuses a partition's record batch above the topic's max.message.bytes (1 MiB by default)
   * with MESSAGE_TOO_LARGE, which an outbox retry would repeat forever; a request bounded below
   * that bounds each of its partition batches too. Default 768 KiB.
   */
  readonly maxRequestBytes?: number;
}

/** Per-record bytes on top of key and value in a v2 record batch (varints, headers), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;

/**
 * Performs `emit` effects with an idempotent, acks=all producer: each outbox drain is sent in
 * order as produce requests of at most `maxRequestBytes`. A repeat after a crash (outbox
 * drained, not yet acknowledged) produces the same keys and values again: consumers of
 * riskstream topics treat records as upserts by key.
 *
 * After a failed send the producer is replaced (new producer id): kafkajs rolls back the
 * sequence numbers of every partition of a failed request, including partitions the broker
 * accepted, and the old producer would then get OUT_OF_ORDER_SEQUENCE_NUMBER on every later send.
 */
export class KafkaEmitSink implements EffectSink {
  readonly #kafka: Kafka;
  readonly #prefix: string;
  readonly #maxRequestBytes: number;
  #producer: Producer;
  #connected: Promise<void> | undefined;

  constructor(options: KafkaEmitSinkOptions) {
    this.#prefix = options.topicPrefix;
    this.#maxRequestBytes = options.maxRequestBytes ?? 768 * 1024;
    this.#kafka = kafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      logger: options.logger,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
    });
    this.#producer = this.#newProducer();
  }

  #newProducer(): Producer {
    return this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
  }

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const requests = this.#requests(effects);
    if (requests.length === 0) return;
    const producer = this.#producer;
    try {
      this.#connected ??= producer.connect();
      await this.#connected;
      for (const topicMessages of requests) {
        await producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
      }
    } catch (err) {
      if (this.#producer === producer) {
        this.#producer = this.#newProducer();
        this.#connected = undefined;
        void producer.disconnect().catch(() => undefined);
      }
      throw new RiskstreamError(ErrorCodes.kafkaUnavailable, `emit failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  /** The emits grouped by topic, cut in order into requests of at most `maxRequestBytes`. */
  #requests(effects: readonly OutputEffect[]): TopicMessages[][] {
    const requests: TopicMessages[][] = [];
    let byTopic = new Map<string, TopicMessages>();
    let bytes = 0;
    for (const effect of effects) {
      if (effect.type !== 'emit') continue;
      const size = Buffer.byteLength(effect.key) + Buffer.byteLength(effect.value) + RECORD_OVERHEAD_BYTES;
      if (bytes > 0 && bytes + size > this.#maxRequestBytes) {
        requests.push([...byTopic.values()]);
        byTopic = new Map();
        bytes = 0;
      }
      bytes += size;
      const topic = this.#prefix + effect.topic;
      let entry = byTopic.get(topic);
      if (!entry) {
        entry = { topic, messages: [] };
        byTopic.set(topic, entry);
      }
      entry.messages.push({ key: effect.key, value: effect.value });
    }
    if (byTopic.size > 0) requests.push([...byTopic.values()]);
    return requests;
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/**
 * Kafka's Java default partitioner (murmur2 of the key's UTF-8 bytes, sign bit cleared, modulo
 * the partition count), as kafkajs' DefaultPartitioner computes it, with 32-bit integer
 * arithmetic instead of kafkajs' 64-bit Long objects and a Buffer per key: that partitioner was
 * ~6% of the merchant worker's CPU (every window row and re-keyed event is an emit). The result
 * must equal kafkajs' for every key (test/unit/adapters/kafka/emit-sink.test.ts checks it): a
 * key that moved partition would split one user's events over two user actors' owners.
 * Messages with an explicit partition keep it; keyless ones go round robin, as in kafkajs.
 */
export const javaCompatiblePartitioner: ICustomPartitioner = () => {
  const counters: Record<string, number> = {};
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) {
      return (murmur2(message.key) & 0x7fffffff) % partitionMetadata.length;
    }
    counters[topic] = ((counters[topic] ?? 0) + 1) | 0;
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const n = counters[topic] & 0x7fffffff;
    return available.length > 0 ? (available[n % available.length] as { partitionId: number }).partitionId : n % partitionMetadata.length;
  };
};

const M = 0x5bd1e995;

/** Kafka's murmur2 (seed 0x9747b28c) of a key's UTF-8 bytes, as a signed 32-bit integer. */
export function murmur2(key: string | Uint8Array): number {
  if (typeof key !== 'string') return murmur2Bytes(key, key.length);
  if (key.length > scratch.length) scratch = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return murmur2(Buffer.from(key, 'utf8'));
    scratch[i] = c;
  }
  return murmur2Bytes(scratch, key.length);
}

/** Reused for ASCII keys (our ids are): no allocation per key. */
let scratch = new Uint8Array(256);

function murmur2Bytes(data: Uint8Array, length: number): number {
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
