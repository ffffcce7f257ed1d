import kafkajs, { type Producer, type Message } from 'kafkajs';
import type { RecordSink } from '../../api/ingest/ports.ts';
import type { WireRecord } from '../../contract/wire.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaLogCreator } from './log-creator.ts';

const { Kafka, CompressionTypes, Partitioners } = kafkajs;
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

interface Group {
  readonly topic: string;
  readonly messages: Message[];
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * kafkajs producer with acks=all, idempotence (so retries cannot duplicate or reorder within
 * a partition; kafkajs then needs maxInFlightRequests 1) and producer-side batching: callers'
 * sends are collected while one produce request is in flight (or for `lingerMs` when idle) and
 * go out together, so throughput does not depend on one round trip per HTTP request.
 *
 * Invariant: a caller's promise resolves only after the produce request holding ALL its
 * records was acknowledged; any failure rejects every caller in that request.
 */
export class BatchingProducer implements RecordSink {
  readonly #producer: Producer;
  readonly #options: BatchingProducerOptions;
  #pending: Group[] = [];
  /** Records in #pending (including timed-out groups not yet skipped). */
  #pendingRecords = 0;
  #inFlight = false;
  #lingerTimer: NodeJS.Timeout | undefined;
  #connected = false;
  #closed = false;
  /** When the last produce failed or timed out (0 after a success): drives fail-fast. */
  #lastFailureMs = 0;

  constructor(options: BatchingProducerOptions) {
    this.#options = options;
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logCreator: kafkaLogCreator(options.logger),
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
    });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 of the key: a merchant lands on the same partition whichever
      // client (kafkajs, Java, kcat) produced it.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#producer.on(this.#producer.events.CONNECT, () => {
      this.#connected = true;
    });
    this.#producer.on(this.#producer.events.DISCONNECT, () => {
      this.#connected = false;
    });
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
  }

  /**
   * False while not connected, and for one second after a failed or timed-out produce: while
   * Kafka is down, requests get 503 at once instead of each waiting sendTimeoutMs (after the
   * second, the next request probes again).
   */
  isReady(): boolean {
    return this.#connected && !this.#closed && Date.now() - this.#lastFailureMs > FAIL_FAST_MS;
  }

  send(topic: string, records: readonly WireRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (!this.isReady()) return Promise.reject(unavailable('kafka producer is not connected'));
    return new Promise<void>((resolve, reject) => {
      const group: Group = {
        topic,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
        settled: false,
        resolve,
        reject,
        timer: setTimeout(
          () => settle(group, unavailable('kafka send timed out')),
          this.#options.sendTimeoutMs,
        ),
      };
      this.#pending.push(group);
      this.#pendingRecords += group.messages.length;
      this.#schedule();
    });
  }

  /** Flushes what is pending, then disconnects. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.length > 0 || this.#inFlight) await new Promise((r) => setTimeout(r, 5));
    await this.#producer.disconnect();
  }

  #schedule(): void {
    if (this.#inFlight) return; // #flush drains the queue when the request in flight returns
    if (this.#pendingRecords >= this.#options.maxBatchRecords || this.#options.lingerMs <= 0) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
      void this.#flush();
      return;
    }
    if (this.#lingerTimer !== undefined) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      if (!this.#inFlight) void this.#flush();
    }, this.#options.lingerMs);
  }

  async #flush(): Promise<void> {
    const batch = this.#take();
    if (batch.length === 0) return;
    this.#inFlight = true;
    try {
      const byTopic = new Map<string, Message[]>();
      for (const g of batch) {
        const list = byTopic.get(g.topic);
        if (list) for (const m of g.messages) list.push(m);
        else byTopic.set(g.topic, [...g.messages]);
      }
      await this.#producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      this.#lastFailureMs = 0;
      for (const g of batch) settle(g);
    } catch (err) {
      this.#lastFailureMs = Date.now();
      this.#options.logger.warn({ err, groups: batch.length }, 'kafka produce failed');
      for (const g of batch) settle(g, unavailable('kafka produce failed', err));
    } finally {
      this.#inFlight = false;
      if (this.#pending.length > 0) void this.#flush();
    }
  }

  /** Takes whole groups up to maxBatchRecords (at least one), skipping timed-out ones. */
  #take(): Group[] {
    const taken: Group[] = [];
    let size = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      if (!next.settled && taken.length > 0 && size + next.messages.length > this.#options.maxBatchRecords)
        break;
      this.#pending.shift();
      this.#pendingRecords -= next.messages.length;
      if (next.settled) continue;
      taken.push(next);
      size += next.messages.length;
    }
    return taken;
  }
}

function settle(group: Group, err?: Error): void {
  if (group.settled) return;
  group.settled = true;
  clearTimeout(group.timer);
  if (err) group.reject(err);
  else group.resolve();
}

function unavailable(message: string, cause?: unknown): RiskstreamError {
  return new RiskstreamError(ErrorCodes.kafkaUnavailable, message, { retriable: true, cause });
}
