import type { Consumer } from 'kafkajs';
import type { Archiver, ArchiveSource } from '../../bronze/archiver.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaClient } from './client.ts';


export interface ArchiveConsumerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly logger: Logger;
}

/**
 * kafkajs consumer feeding the archiver: its own group (never shares partitions with the
 * stream workers), auto-commit off (the archiver commits after each bronze segment), a new
 * group starts from the earliest offset so nothing accepted is missed.
 */
export class KafkaArchiveSource implements ArchiveSource {
  #stopped = false;
  readonly #consumer: Consumer;
  readonly #options: ArchiveConsumerOptions;
  #assigned = false;

  constructor(options: ArchiveConsumerOptions) {
    this.#options = options;
    const kafka = kafkaClient({ clientId: options.clientId, brokers: options.brokers, logger: options.logger });
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
  }

  /** True once the group has assigned partitions to this member. */
  isAssigned(): boolean {
    return this.#assigned;
  }

  async start(archiver: Archiver): Promise<void> {
    const c = this.#consumer;
    c.on(c.events.GROUP_JOIN, () => {
      this.#assigned = true;
      void archiver.onAssign();
    });
    c.on(c.events.CRASH, (e) =>
      this.#options.logger.error({ err: e.payload.error }, 'archive consumer crashed'),
    );
    await c.connect();
    await c.subscribe({ topic: this.#options.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const records = batch.messages.map((m) => ({
          offset: BigInt(m.offset),
          value: m.value,
          timestampMs: Number(m.timestamp),
        }));
        await archiver.onBatch(batch.partition, records);
      },
    });
  }

  seek(partition: number, offset: bigint): void {
    this.#consumer.seek({ topic: this.#options.topic, partition, offset: String(offset) });
  }

  /** Best effort: a failed commit (e.g. during a rebalance) only delays the lag metric. */
  async commit(partition: number, nextOffset: bigint): Promise<void> {
    // After stop() the consumer is gone; the segment markers on disk say where to resume.
    if (this.#stopped) return;
    try {
      await this.#consumer.commitOffsets([
        { topic: this.#options.topic, partition, offset: String(nextOffset) },
      ]);
    } catch (err) {
      this.#options.logger.warn(
        { err, partition },
        'offset commit failed (bronze markers stay authoritative)',
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#consumer.disconnect();
  }
}
