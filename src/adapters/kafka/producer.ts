import './group-fix.ts'; // before kafkajs (see group-fix.ts)
import kafkajs, { type Message, type Producer } from 'kafkajs';
import type { RecordSink } from '../../api/ingest/ports.ts';
import type { WireRecord } from '../../contract/wire.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaClient } from './client.ts';
import { javaCompatiblePartitioner } from './emit-sink.ts';
import { SendBatcher, unavailable } from './send-batcher.ts';

const { CompressionTypes } = kafkajs;
/** After a failed or timed-out produce, refuse at once for this long (then probe again). */
const FAIL_FAST_MS = 1_000;

export interface BatchingProducerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Wait this long for more sends when idle, so small requests share one produce request. */
  readonly lingerMs: number;
  /** Upper bound of records per produce request (groups are never split). */
  readonly maxBatchRecords: number;
  /** A caller waiting longer than this gets KAFKA_UNAVAILABLE (its records may still land). */
  readonly sendTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * kafkajs producer with acks=all and idempotence (retries cannot duplicate or reorder within a
 * partition; kafkajs then needs maxInFlightRequests 1), behind a {@link SendBatcher} so that
 * concurrent HTTP requests share produce requests. A caller's promise resolves only after
 * Kafka acknowledged every one of its records.
 */
export class BatchingProducer implements RecordSink {
  readonly #producer: Producer;
  readonly #batcher: SendBatcher<Message>;
  #connected = false;
  #closed = false;

  constructor(options: BatchingProducerOptions) {
    const kafka = kafkaClient({
      clientId: options.clientId,
      brokers: options.brokers,
      logger: options.logger,
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
    });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 of the key: a merchant lands on the same partition whichever
      // client (kafkajs, Java, kcat) produced it. The same result as kafkajs' DefaultPartitioner
      // (tested) without its Long arithmetic and Buffer per key.
      createPartitioner: javaCompatiblePartitioner,
    });
    // Ready only when connect() resolves, not on kafkajs's CONNECT event: that fires once the
    // brokers are reached but BEFORE the idempotent producer has its producer id. Sends in that
    // gap skip the per-broker lock, the id then arrives and the lock's release throws a
    // TypeError inside kafkajs: on a broker that had just started (coordinator still loading)
    // the API answered 503 to every request for about a second.
    this.#producer.on(this.#producer.events.DISCONNECT, () => {
      this.#connected = false;
    });
    this.#batcher = new SendBatcher<Message>({
      lingerMs: options.lingerMs,
      maxBatchRecords: options.maxBatchRecords,
      sendTimeoutMs: options.sendTimeoutMs,
      produce: async (topicMessages) => {
        await this.#producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
      },
      onFailure: (err, groups) => options.logger.warn({ err, groups }, 'kafka produce failed'),
    });
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
  }

  /**
   * False while not connected, and for a second after a failed or timed-out produce: while
   * Kafka is down, requests get 503 at once instead of each waiting sendTimeoutMs.
   */
  isReady(): boolean {
    return this.#connected && !this.#closed && Date.now() - this.#batcher.lastFailureMs > FAIL_FAST_MS;
  }

  send(topic: string, records: readonly WireRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (!this.isReady()) return Promise.reject(unavailable('kafka producer is not available'));
    // kafkajs only reads the headers: the record's frozen-typed object is passed as is.
    return this.#batcher.send(
      topic,
      records.map((r) => ({ key: r.key, value: r.value, headers: r.headers as Message['headers'] })),
    );
  }

  /** Flushes what is pending, then disconnects. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#batcher.drain();
    await this.#producer.disconnect();
  }
}
