import kafkajs, { type Producer } from 'kafkajs';
import type { DeadLetterRecord, ReplayRecord } from '../../batch/dlq-replay.ts';
import type { Config } from '../../runtime/config.ts';
import type { DeadLetter } from '../../runtime/dead-letter.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaClient } from './client.ts';
import { javaCompatiblePartitioner } from './emit-sink.ts';
import { readToEnd } from './reader.ts';

/** Reads a DLQ topic's records between a cursor and the end offsets at the call. */
export class KafkaDeadLetterReader {
  readonly #config: Pick<Config, 'kafka'>;
  readonly #logger: Logger;
  readonly #timeoutMs: number;

  constructor(config: Pick<Config, 'kafka'>, logger: Logger, timeoutMs = 300_000) {
    this.#config = config;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  async read(topic: string, from: ReadonlyMap<number, string>): Promise<{ records: DeadLetterRecord[]; next: Map<number, string> }> {
    const records: DeadLetterRecord[] = [];
    const next = await readToEnd(this.#config, { topic, groupPrefix: 'riskstream-dlq-replay', from, timeoutMs: this.#timeoutMs, logger: this.#logger }, (r) => {
      records.push({ partition: r.partition, offset: r.offset, key: r.key, letter: parseLetter(r.value) });
    });
    // Per partition in offset order, partitions in order: a stable replay order.
    records.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
    return { records, next };
  }
}

function parseLetter(value: Buffer | null): DeadLetter | null {
  if (value === null) return null;
  try {
    const l = JSON.parse(value.toString('utf8')) as DeadLetter;
    return l && l.v === 1 && typeof l.source?.topic === 'string' ? l : null;
  } catch {
    return null;
  }
}

/**
 * Sends replayed records with an idempotent, acks=all producer and the Java-compatible
 * partitioner, so a key lands on the partition its original producer chose.
 */
export class KafkaRepublisher {
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;

  constructor(config: Pick<Config, 'kafka'>, logger: Logger) {
    const kafka = kafkaClient({ clientId: `${config.kafka.clientId}-dlq-replay`, brokers: config.kafka.brokers, logger, connectionTimeout: 3_000, requestTimeout: 30_000 });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: javaCompatiblePartitioner });
  }

  async send(records: readonly ReplayRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      this.#connected ??= this.#producer.connect();
      await this.#connected;
      for (let i = 0; i < records.length; i += 500) {
        const byTopic = new Map<string, { key: Buffer | null; value: Buffer; headers: Record<string, string> }[]>();
        for (const r of records.slice(i, i + 500)) {
          const list = byTopic.get(r.topic) ?? [];
          list.push({ key: r.key, value: r.value, headers: { ...r.headers } });
          byTopic.set(r.topic, list);
        }
        await this.#producer.sendBatch({ acks: -1, compression: kafkajs.CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      }
    } catch (err) {
      throw new RiskstreamError(ErrorCodes.kafkaUnavailable, `replay send failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
