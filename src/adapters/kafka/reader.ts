import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { randomUUID } from 'node:crypto';
import { deleteGroups, offsetRanges } from './admin.ts';
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
    // From the beginning, not kafkajs's "latest" for a new group. The seeks below set the start,
    // but kafkajs applies a seek once, at the first fetch, into an offset manager that a rejoin
    // replaces (a freshly created topic's metadata changing under a new group does that): the
    // seek is then gone and the group starts at its default. With "latest" the reader waited at
    // the end for records that came before it (a CI run timed out reading a new labels topic);
    // from the beginning it re-reads from the first kept offset and `wanted` drops what precedes
    // `from`.
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
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
      // The next offset wanted per partition: a record delivered again (a fetch that raced the
      // seek below) or from before the starting offset is handed over once, in order.
      const wanted = new Map([...options.from].map(([p, o]) => [p, BigInt(o)]));
      consumer
        .run({
          // A throw-away group (deleted when done): committing would only be a broker
          // round trip per batch (kafkajs's autoCommit commits after every batch).
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (done) return;
            const offset = BigInt(message.offset);
            if (offset < (wanted.get(partition) ?? 0n)) return;
            wanted.set(partition, offset + 1n);
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

/**
 * Reads `topic` from `from` (per partition; missing or below the first kept offset: that
 * offset) to its end offsets at the call, each record once, in partition order; returns where
 * each partition ends (the cursor of a next read). A throw-away group, as {@link readTopic}.
 */
export async function readToEnd(
  config: Pick<Config, 'kafka'>,
  options: { topic: string; groupPrefix: string; from?: ReadonlyMap<number, string>; timeoutMs: number; logger: Logger },
  onRecord: (record: ReadRecord) => void,
): Promise<Map<number, string>> {
  const ranges = await offsetRanges(config, options.topic, options.logger);
  const next = new Map<number, string>();
  const start = new Map<number, string>();
  const last = new Map<number, bigint>();
  for (const [partition, { low, high }] of ranges) {
    const wanted = options.from?.get(partition);
    const cursor = wanted === undefined || BigInt(wanted) < BigInt(low) ? low : wanted;
    next.set(partition, BigInt(high) > BigInt(cursor) ? high : cursor);
    if (BigInt(high) > BigInt(cursor)) {
      start.set(partition, cursor);
      last.set(partition, BigInt(high) - 1n);
    }
  }
  if (last.size === 0) return next;
  await readTopic(config, {
    topic: options.topic,
    groupId: `${options.groupPrefix}-${randomUUID()}`,
    from: start,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    onRecord: (record) => {
      const end = last.get(record.partition);
      const offset = BigInt(record.offset);
      if (end === undefined || offset > end) return last.size === 0;
      onRecord(record);
      if (offset >= end) last.delete(record.partition);
      return last.size === 0;
    },
  });
  return next;
}
