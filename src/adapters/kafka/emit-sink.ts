import kafkajs, { type Producer, type TopicMessages } from 'kafkajs';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { kafkaLogCreator } from './log-creator.ts';
import { installRequestQueueFix } from './request-queue-fix.ts';

const { Kafka, CompressionTypes } = kafkajs;

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
  readonly #kafka: InstanceType<typeof Kafka>;
  readonly #prefix: string;
  readonly #maxRequestBytes: number;
  #producer: Producer;
  #connected: Promise<void> | undefined;

  constructor(options: KafkaEmitSinkOptions) {
    this.#prefix = options.topicPrefix;
    this.#maxRequestBytes = options.maxRequestBytes ?? 768 * 1024;
    installRequestQueueFix(); // see request-queue-fix.ts: every kafkajs client of the process
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logCreator: kafkaLogCreator(options.logger),
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
    });
    this.#producer = this.#newProducer();
  }

  #newProducer(): Producer {
    return this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
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
