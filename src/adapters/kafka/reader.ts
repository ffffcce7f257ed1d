import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { deleteGroups } from './admin.ts';
import { createKafka } from './client.ts';

/** One record as {@link readTopic} hands it over. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
}

export interface ReadTopicOptions {
  readonly topic: string;
  /** A consumer group of this reader only; deleted when done. */
  readonly groupId: string;
  /** Where to start per partition (e.g. the end offsets before a test produced). */
  readonly from: ReadonlyMap<number, string>;
  /** Called per record in partition order; return true once everything awaited was seen. */
  readonly onRecord: (record: ReadRecord) => boolean;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * Reads `topic` in a throw-away consumer group from the given offsets until `onRecord` says
 * done (without committing), then leaves and deletes the group. For smoke checks and tools
 * (the demo, operators' spot checks), not the stream path (that is KafkaSource).
 * Rejects with TIMEOUT if `onRecord` never says done within `timeoutMs`.
 */
export async function readTopic(config: Pick<Config, 'kafka'>, options: ReadTopicOptions): Promise<void> {
  const consumer = createKafka(config, options.logger, 'reader').consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic] });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RiskstreamError(
              ErrorCodes.timeout,
              `${options.topic}: not all records seen in ${options.timeoutMs} ms`,
            ),
          ),
        options.timeoutMs,
      );
      let done = false;
      consumer
        .run({
          // A throw-away group (deleted when done): committing would only be a broker
          // round trip per batch (kafkajs's autoCommit commits after every batch).
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (done) return;
            done = options.onRecord({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value,
            });
            if (done) resolve();
          },
        })
        .catch(reject);
      // Seeking after run() and before the first fetch replaces the group's starting offsets.
      for (const [partition, offset] of options.from)
        consumer.seek({ topic: options.topic, partition, offset });
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await deleteGroups(config, [options.groupId], options.logger);
  }
}
