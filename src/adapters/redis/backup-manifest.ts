import { z } from 'zod';
import { BackupErrorCodes, backupError, parseManifest } from '../backup-errors.ts';

/**
 * The Redis backup's manifest and the pure rules of a restore: which partition a key belongs to,
 * the epoch a restored partition gets, and whether Kafka still holds the input a restored
 * partition must read again. No I/O here (src/adapters/redis/backup.ts does it).
 *
 * Manifest (`manifest.json` beside `redis.rdb`), format version 1:
 *
 *   { format: 'riskstream-redis-backup', formatVersion: 1,
 *     createdAtMs, createdAt (ISO),         when the snapshot was taken (just before redis-cli ran)
 *     source: { host, port, db, redisVersion },
 *     keyPrefix,                            the state store's prefix (redis.keyPrefix)
 *     rdb: { file, bytes, sha256 },         the whole instance, as the replication snapshot
 *     keys,                                 keys under the prefix in the snapshot
 *     partitions: [ { group, topic, partition, nextOffset, epoch } ] }
 *
 * `partitions` is read from the snapshot itself (a scratch redis-server over the RDB), never from
 * the live server: a partition's position and its states must come from the same instant.
 * `nextOffset` is null for a partition claimed but never committed.
 */
export const MANIFEST_FILE = 'manifest.json';
export const RDB_FILE = 'redis.rdb';
export const REDIS_BACKUP_FORMAT = 'riskstream-redis-backup';

const OFFSET = /^(0|[1-9][0-9]{0,15})$/;

const partitionMeta = z.strictObject({
  group: z.string().min(1),
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  nextOffset: z.string().regex(OFFSET).nullable(),
  epoch: z.number().int().min(0),
});

export const redisManifestSchema = z.strictObject({
  format: z.literal(REDIS_BACKUP_FORMAT),
  formatVersion: z.literal(1),
  createdAtMs: z.number().int().positive(),
  createdAt: z.string(),
  source: z.strictObject({ host: z.string(), port: z.number().int(), db: z.number().int().min(0), redisVersion: z.string() }),
  keyPrefix: z.string().refine((p) => !/[{}]/.test(p), 'a key prefix may not contain braces'),
  rdb: z.strictObject({ file: z.literal(RDB_FILE), bytes: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  keys: z.number().int().min(0),
  partitions: z.array(partitionMeta),
});

export type RedisManifest = z.infer<typeof redisManifestSchema>;
export type PartitionMeta = z.infer<typeof partitionMeta>;

/** Validates a manifest's JSON text; BACKUP_MANIFEST_INVALID naming every bad field. */
export function parseRedisManifest(text: string): RedisManifest {
  const manifest = parseManifest(redisManifestSchema, text, 'Redis');
  const seen = new Set<string>();
  for (const p of manifest.partitions) {
    const id = partitionId(p);
    if (seen.has(id)) throw backupError(BackupErrorCodes.manifestInvalid, `manifest lists partition ${id} twice`);
    seen.add(id);
  }
  return manifest;
}

export interface PartitionRefLike {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

/** One partition after a restore: its position and its epoch before, in the backup and after. */
export interface RestoredPartition extends PartitionRefLike {
  readonly nextOffset: string | null;
  readonly epochBefore: number;
  readonly epochBackup: number;
  readonly epochAfter: number;
}

export function partitionId(ref: PartitionRefLike): string {
  return `${ref.group}|${ref.topic}|${ref.partition}`;
}

/** The kinds of key keys.ts builds per partition (`<prefix>:{<tag>}:<kind>`). */
export const PARTITION_KEY_KINDS = ['meta', 'state', 'dedup', 'timers', 'outbox'] as const;
export type PartitionKeyKind = (typeof PARTITION_KEY_KINDS)[number];

/**
 * The partition and kind of a state-store key (keys.ts builds `<prefix>:{<group>|<topic>|<n>}:<kind>`,
 * with `%`, `|`, `{`, `}` of group and topic percent-escaped), or undefined for any other key
 * under the prefix (live scores, models, API keys, ...). The inverse of keys.ts `partitionKeys`;
 * a unit test holds the two together.
 */
export function parsePartitionKey(prefix: string, key: string): { ref: PartitionRefLike; kind: PartitionKeyKind } | undefined {
  const base = prefix === '' ? '' : `${prefix}:`;
  const close = key.lastIndexOf('}:');
  if (!key.startsWith(`${base}{`) || close < 0) return undefined;
  const kind = key.slice(close + 2) as PartitionKeyKind;
  if (!PARTITION_KEY_KINDS.includes(kind)) return undefined;
  const tag = key.slice(base.length + 1, close);
  const parts = tag.split('|');
  if (parts.length !== 3 || /[{}]/.test(tag) || !/^(0|[1-9][0-9]*)$/.test(parts[2]!)) return undefined;
  const unescapePart = (s: string) => s.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return { ref: { group: unescapePart(parts[0]!), topic: unescapePart(parts[1]!), partition: Number(parts[2]) }, kind };
}

/** The partition whose `meta` hash `key` is, or undefined. */
export function parseMetaKey(prefix: string, key: string): PartitionRefLike | undefined {
  const parsed = parsePartitionKey(prefix, key);
  return parsed?.kind === 'meta' ? parsed.ref : undefined;
}

/**
 * The epoch a restored partition gets: above both the live one (every owner of before the
 * restore, zombies included, is fenced: its epoch is no longer the stored one) and the backup's
 * (an owner of the backup's time too). restoreMeta-1.lua applies the same rule atomically.
 */
export function restoredEpoch(liveEpoch: number, backupEpoch: number): number {
  return Math.max(liveEpoch, backupEpoch) + 1;
}

/** Offsets Kafka holds for one partition: `low` the first kept, `high` the next to be written. */
export interface OffsetRange {
  readonly low: string;
  readonly high: string;
}

/** Per topic, per partition; a topic missing from the map does not exist. */
export type TopicRanges = ReadonlyMap<string, ReadonlyMap<number, OffsetRange>>;

export interface GroupOffsets {
  readonly group: string;
  readonly topic: string;
  readonly partitions: readonly { partition: number; offset: string }[];
}

export interface OffsetCheck {
  /** One line per partition whose input Kafka does not hold any more (empty: restorable). */
  readonly problems: readonly string[];
  /**
   * The consumer-group offsets the restore commits to Kafka: the restored position, or the
   * partition's first offset where the backup has none (such a partition's worker starts from
   * the group's committed offset, so it must not be left ahead of the restored state).
   */
  readonly groupOffsets: readonly GroupOffsets[];
}

/**
 * Exactly once after a restore needs every record from each restored position on: a worker
 * resumes at `nextOffset`, so Kafka must still hold it (`low ≤ nextOffset ≤ high`). A partition
 * of a restored (group, topic) without a position in the backup had processed nothing, so it
 * needs its input from the start: `low` must be 0. Every partition Kafka has is checked, not only
 * those in the backup.
 */
export function checkOffsets(partitions: readonly PartitionMeta[], ranges: TopicRanges): OffsetCheck {
  const problems: string[] = [];
  const groupOffsets: GroupOffsets[] = [];
  const byStream = new Map<string, { group: string; topic: string; metas: Map<number, PartitionMeta> }>();
  for (const p of partitions) {
    const id = `${p.group}|${p.topic}`;
    const entry = byStream.get(id) ?? { group: p.group, topic: p.topic, metas: new Map() };
    entry.metas.set(p.partition, p);
    byStream.set(id, entry);
  }
  for (const { group, topic, metas } of byStream.values()) {
    const topicRanges = ranges.get(topic);
    if (!topicRanges) {
      problems.push(`topic ${topic} (group ${group}) does not exist in Kafka`);
      continue;
    }
    const offsets: { partition: number; offset: string }[] = [];
    for (const [partition, range] of [...topicRanges].sort((a, b) => a[0] - b[0])) {
      const nextOffset = metas.get(partition)?.nextOffset ?? null;
      const where = `topic ${topic} partition ${partition} (group ${group})`;
      const low = Number(range.low);
      const high = Number(range.high);
      if (nextOffset === null && low > 0) {
        problems.push(`${where}: the backup has no position (nothing processed) but Kafka's earliest offset is ${low}: records 0..${low - 1} are gone`);
      } else if (nextOffset !== null && Number(nextOffset) < low) {
        problems.push(`${where}: restored next_offset ${nextOffset} is below Kafka's earliest offset ${low}: records ${nextOffset}..${low - 1} are gone`);
      } else if (nextOffset !== null && Number(nextOffset) > high) {
        problems.push(`${where}: restored next_offset ${nextOffset} is beyond Kafka's end offset ${high} (was the topic re-created?)`);
      }
      offsets.push({ partition, offset: nextOffset ?? range.low });
    }
    for (const partition of metas.keys()) {
      if (!topicRanges.has(partition)) problems.push(`topic ${topic} has no partition ${partition} (group ${group}), which the backup has`);
    }
    groupOffsets.push({ group, topic, partitions: offsets });
  }
  return { problems, groupOffsets };
}

/**
 * Partitions stored in the target that no (group, topic) of the backup covers: a restore would
 * delete their state without giving any back. Listed as `group|topic|partition`.
 */
export function uncoveredPartitions(backup: readonly PartitionRefLike[], live: readonly PartitionRefLike[]): string[] {
  const streams = new Set(backup.map((p) => `${p.group}|${p.topic}`));
  return live.filter((p) => !streams.has(`${p.group}|${p.topic}`)).map(partitionId).sort();
}
