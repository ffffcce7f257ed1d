import type { Admin } from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaClient } from './client.ts';


/**
 * Progress read from Kafka itself, independent of the processes being watched: how many records
 * a topic holds and where each partition ends.
 */
export class KafkaProgress {
  readonly #admin: Admin;

  constructor(brokers: readonly string[], logger: Logger) {
    const kafka = kafkaClient({ clientId: 'riskstream-progress', brokers, logger });
    this.#admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.#admin.connect();
  }

  /** Records ever written to the topic (sum of high watermarks; the local topics never expire). */
  async total(topic: string): Promise<number> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  }

  /** High watermark (next offset to be written) per partition. */
  async highWatermarks(topic: string): Promise<Map<number, number>> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  disconnect(): Promise<void> {
    return this.#admin.disconnect();
  }
}
