import type { Admin } from 'kafkajs';
import type { Topic } from '../../provision/topics.ts';
import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError, toRiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { createKafka } from './client.ts';

/** One topic after {@link ensureTopics}. */
export interface EnsuredTopic {
  readonly name: string;
  readonly created: boolean;
  readonly partitions: number;
  /** The spec asks for a different partition count than the existing topic has. */
  readonly partitionMismatch: boolean;
}

export interface EnsureTopicsOptions {
  readonly logger: Logger;
  /** Replicas per partition; default min(3, brokers in the cluster): 1 on the local stack. */
  readonly replicationFactor?: number;
}

/**
 * Creates the topics of `wanted` that do not exist yet, with their partition counts and configs,
 * and waits for their leaders. Existing topics are left alone (a partition count that differs
 * from the spec is reported, never changed: that would move keys between partitions).
 * Tolerates a concurrent creator ("already exists").
 */
export async function ensureTopics(
  config: Pick<Config, 'kafka'>,
  wanted: readonly Topic[],
  options: EnsureTopicsOptions,
): Promise<readonly EnsuredTopic[]> {
  return withAdmin(config, options.logger, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic.name));
    if (missing.length > 0) {
      const replicationFactor = options.replicationFactor ?? (await defaultReplicationFactor(admin));
      await createTopics(admin, missing, replicationFactor);
    }
    const metadata = await admin.fetchTopicMetadata({ topics: wanted.map((topic) => topic.name) });
    const partitionsByName = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    return wanted.map((topic) => {
      const partitions = partitionsByName.get(topic.name) ?? 0;
      return {
        name: topic.name,
        created: missing.includes(topic),
        partitions,
        partitionMismatch: partitions !== topic.partitions,
      };
    });
  });
}

/** Deletes topics (tests clean up their own); missing ones are ignored. */
export async function deleteTopics(
  config: Pick<Config, 'kafka'>,
  names: readonly string[],
  logger: Logger,
): Promise<void> {
  await withAdmin(config, logger, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = names.filter((name) => existing.has(name));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 30_000 });
  });
}

/** The next offset to be written, per partition of `topic` (where a reader of new records starts). */
export async function endOffsets(
  config: Pick<Config, 'kafka'>,
  topic: string,
  logger: Logger,
): Promise<Map<number, string>> {
  return withAdmin(config, logger, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  });
}

/** Low (first kept) and high (next to be written) offsets per partition of `topic`. */
export async function offsetRanges(
  config: Pick<Config, 'kafka'>,
  topic: string,
  logger: Logger,
): Promise<Map<number, { low: string; high: string }>> {
  return withAdmin(config, logger, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }]));
  });
}

/** Deletes consumer groups (throw-away readers, tests); missing or non-empty ones are skipped. */
export async function deleteGroups(
  config: Pick<Config, 'kafka'>,
  groupIds: readonly string[],
  logger: Logger,
): Promise<void> {
  await withAdmin(config, logger, async (admin) => {
    await admin.deleteGroups([...groupIds]).catch(() => undefined);
  });
}

async function createTopics(
  admin: Admin,
  topics: readonly Topic[],
  replicationFactor: number,
): Promise<void> {
  try {
    await admin.createTopics({
      waitForLeaders: true,
      timeout: 30_000,
      topics: topics.map((topic) => ({
        topic: topic.name,
        numPartitions: topic.partitions,
        replicationFactor,
        configEntries: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  } catch (err) {
    // Another process may have created some of them meanwhile: fine if all exist now.
    const now = new Set(await admin.listTopics());
    if (topics.every((topic) => now.has(topic.name))) return;
    throw toRiskstreamError(err, ErrorCodes.kafkaUnavailable, true);
  }
}

async function defaultReplicationFactor(admin: Admin): Promise<number> {
  const { brokers } = await admin.describeCluster();
  return Math.max(1, Math.min(3, brokers.length));
}

async function withAdmin<T>(
  config: Pick<Config, 'kafka'>,
  logger: Logger,
  body: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = createKafka(config, logger, 'admin').admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new RiskstreamError(
      ErrorCodes.kafkaUnavailable,
      `cannot reach Kafka at ${config.kafka.brokers.join(',')}`,
      {
        retriable: true,
        cause: err,
      },
    );
  }
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}
