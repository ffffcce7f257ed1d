import type { Admin } from 'kafkajs';
import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { GroupOffsets, OffsetRange, TopicRanges } from '../redis/backup-manifest.ts';
import type { RestoreGuard } from '../redis/backup.ts';
import { createKafka } from './client.ts';

/**
 * The Kafka side of a state-store restore (src/adapters/redis/backup.ts): whether the workers
 * are stopped (a consumer group with members is not), which offsets each topic still holds, and
 * the groups' committed offsets set to the restored positions. `close()` disconnects.
 */
export async function kafkaRestoreGuard(config: Pick<Config, 'kafka'>, logger: Logger): Promise<RestoreGuard & { close(): Promise<void> }> {
  const admin = createKafka(config, logger, 'restore').admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new RiskstreamError(ErrorCodes.kafkaUnavailable, `cannot reach Kafka at ${config.kafka.brokers.join(',')}`, { retriable: true, cause: err });
  }
  return {
    activeMembers: (groups) => activeMembers(admin, groups),
    offsetRanges: (topics) => offsetRanges(admin, topics),
    commitGroupOffsets: async (offsets: readonly GroupOffsets[]) => {
      for (const { group, topic, partitions } of offsets) {
        await admin.setOffsets({ groupId: group, topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: p.offset })) });
      }
    },
    close: () => admin.disconnect(),
  };
}

async function activeMembers(admin: Admin, groups: readonly string[]): Promise<ReadonlyMap<string, number>> {
  if (groups.length === 0) return new Map();
  const described = await admin.describeGroups([...groups]);
  return new Map(described.groups.map((g) => [g.groupId, g.members.length]));
}

async function offsetRanges(admin: Admin, topics: readonly string[]): Promise<TopicRanges> {
  const existing = new Set(await admin.listTopics());
  const ranges = new Map<string, ReadonlyMap<number, OffsetRange>>();
  for (const topic of topics) {
    if (!existing.has(topic)) continue;
    const offsets = await admin.fetchTopicOffsets(topic);
    ranges.set(topic, new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }])));
  }
  return ranges;
}
