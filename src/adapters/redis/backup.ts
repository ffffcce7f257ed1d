import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../../runtime/logger.ts';
import { BackupErrorCodes, backupError } from '../backup-errors.ts';
import { connectRedis, keysByPrefix } from './admin.ts';
import {
  checkOffsets, type GroupOffsets, MANIFEST_FILE, type PartitionMeta, type PartitionRefLike, parseMetaKey,
  parsePartitionKey, parseRedisManifest, partitionId, RDB_FILE, REDIS_BACKUP_FORMAT, type RedisManifest, type RestoredPartition,
  type TopicRanges,
  uncoveredPartitions,
} from './backup-manifest.ts';
import { parseRedisUrl, snapshotRdb, startScratchServer } from './scratch-server.ts';
import { copyKeys, restoreMetas } from './restore-keys.ts';

/**
 * Backup and restore of the state store (docs/backup-restore.md has the runbook and the
 * consistency argument).
 *
 * Backup: `redis-cli --rdb` copies the whole instance as of one instant (a fork on the server),
 * so every partition's states, dedup marks, timers and outbox are exactly those its stored
 * `next_offset` was committed with: the commit script writes them together, and the snapshot
 * cannot fall between two of its writes. The manifest's positions are read from that copy.
 *
 * Restore: the copy is loaded into a scratch redis-server; the prefix's keys are copied from it
 * into the target with DUMP/RESTORE (TTLs kept), after the checks below. Workers started after
 * it resume from the restored positions and process again what came after them; the restored
 * outboxes are drained again (sinks are idempotent).
 */
export interface RedisBackupOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly outDir: string;
  readonly logger: Logger;
}

export async function backupRedis(options: RedisBackupOptions): Promise<RedisManifest> {
  const { url, keyPrefix, outDir, logger } = options;
  await mkdir(outDir, { recursive: true });
  if (await exists(join(outDir, MANIFEST_FILE))) {
    throw backupError(BackupErrorCodes.manifestInvalid, `${outDir} already holds a backup; give a new directory`, { dir: outDir });
  }
  const endpoint = parseRedisUrl(url);
  const redisVersion = await sourceVersion(url);
  const createdAtMs = Date.now();
  const rdbPath = join(outDir, RDB_FILE);
  await snapshotRdb(endpoint, rdbPath);
  const bytes = (await stat(rdbPath)).size;
  logger.info({ file: rdbPath, bytes }, 'RDB snapshot taken');
  const scratch = await startScratchServer(rdbPath, endpoint.db);
  let keys: string[];
  let partitions: PartitionMeta[];
  try {
    keys = await keysByPrefix(scratch.redis, keyPrefix);
    partitions = await readMetas(scratch.redis, keyPrefix, keys);
  } finally {
    await scratch.stop();
  }
  const manifest: RedisManifest = {
    format: REDIS_BACKUP_FORMAT,
    formatVersion: 1,
    createdAtMs,
    createdAt: new Date(createdAtMs).toISOString(),
    source: { host: endpoint.host, port: endpoint.port, db: endpoint.db, redisVersion },
    keyPrefix,
    rdb: { file: RDB_FILE, bytes, sha256: await sha256File(rdbPath) },
    keys: keys.length,
    partitions,
  };
  // Written last and renamed into place: a directory with a manifest holds a complete backup.
  await writeFile(join(outDir, `${MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(outDir, `${MANIFEST_FILE}.tmp`), join(outDir, MANIFEST_FILE));
  logger.info({ keys: keys.length, partitions: partitions.length }, 'Redis backup written');
  return manifest;
}

/** What a restore needs from Kafka (src/adapters/kafka/restore-guard.ts; a fake in tests). */
export interface RestoreGuard {
  /** Live members per consumer group (0 or absent: none, the group may not exist). */
  activeMembers(groups: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /** Offset ranges of the topics that exist (missing topics are absent from the map). */
  offsetRanges(topics: readonly string[]): Promise<TopicRanges>;
  /** Commits the groups' offsets (only called when no group has members). */
  commitGroupOffsets(offsets: readonly GroupOffsets[]): Promise<void>;
}

export interface RedisRestoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly fromDir: string;
  readonly guard: RestoreGuard;
  readonly logger: Logger;
  /** Restore although a group has live members (they are fenced) or the target holds unknown partitions. */
  readonly force?: boolean;
  /** 'all' (default): every key under the prefix; 'state': only the partitions' keys (keys.ts). */
  readonly scope?: 'all' | 'state';
}

export interface RedisRestoreReport {
  readonly manifest: RedisManifest;
  readonly keysRestored: number;
  readonly keysDeleted: number;
  readonly partitions: readonly RestoredPartition[];
  /** Groups that had live members (only with `force`); their offsets in Kafka were not reset. */
  readonly busyGroups: readonly string[];
}

/** Validates a backup directory: the manifest parses and the RDB file is the one it names. */
export async function readRedisBackup(dir: string): Promise<RedisManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    throw backupError(BackupErrorCodes.manifestInvalid, `no ${MANIFEST_FILE} in ${dir}: ${(err as Error).message}`, { dir });
  }
  const manifest = parseRedisManifest(text);
  const rdb = join(dir, manifest.rdb.file);
  const sha = await sha256File(rdb).catch((err: Error) => {
    throw backupError(BackupErrorCodes.corrupt, `cannot read ${rdb}: ${err.message}`, { file: rdb });
  });
  if (sha !== manifest.rdb.sha256) {
    throw backupError(BackupErrorCodes.corrupt, `${rdb} does not match the manifest (sha256 ${sha}, manifest ${manifest.rdb.sha256})`, { file: rdb });
  }
  return manifest;
}

export async function restoreRedis(options: RedisRestoreOptions): Promise<RedisRestoreReport> {
  const { url, keyPrefix, fromDir, logger } = options;
  const manifest = await readRedisBackup(fromDir);
  if (manifest.keyPrefix !== keyPrefix) {
    throw backupError(BackupErrorCodes.manifestInvalid, `the backup is of key prefix "${manifest.keyPrefix}", the configured prefix is "${keyPrefix}"`);
  }
  const scratch = await startScratchServer(join(fromDir, manifest.rdb.file), parseRedisUrl(url).db);
  const target = connectRedis(url);
  try {
    const backupKeys = await keysByPrefix(scratch.redis, keyPrefix);
    await verifySnapshot(scratch.redis, manifest, backupKeys);
    const liveKeys = await keysByPrefix(target, keyPrefix);
    const live = liveKeys.flatMap((key) => parseMetaKey(keyPrefix, key) ?? []);
    const busyGroups = await preflight(options, manifest, live);
    const restored = await restoreMetas(scratch.redis, target, keyPrefix, manifest.partitions, live);
    logger.info({ partitions: restored.length }, 'partition positions restored and fenced');
    const inScope = (key: string) => options.scope !== 'state' || parsePartitionKey(keyPrefix, key) !== undefined;
    const isMeta = (key: string) => parseMetaKey(keyPrefix, key) !== undefined;
    const doomed = liveKeys.filter((key) => inScope(key) && !isMeta(key));
    const keysDeleted = doomed.length === 0 ? 0 : await unlinkAll(target, doomed);
    const keysRestored = await copyKeys(scratch.redis, target, backupKeys.filter((key) => inScope(key) && !isMeta(key)));
    logger.info({ keysRestored, keysDeleted }, 'Redis restore done');
    return { manifest, keysRestored: keysRestored + manifest.partitions.length, keysDeleted, partitions: restored, busyGroups };
  } finally {
    await scratch.stop();
    await target.quit().catch(() => undefined);
  }
}

/**
 * The refusals, before anything is written: unknown partitions in the target, live workers, and
 * positions Kafka cannot serve any more. Commits the groups' offsets when no group has members.
 * Returns the groups that had members (only when forced).
 */
async function preflight(options: RedisRestoreOptions, manifest: RedisManifest, live: readonly PartitionRefLike[]): Promise<string[]> {
  const { guard, force = false, logger } = options;
  const uncovered = uncoveredPartitions(manifest.partitions, live);
  if (uncovered.length > 0 && !force) {
    throw backupError(
      BackupErrorCodes.unknownPartitions,
      `the target holds ${uncovered.length} partition(s) of groups/topics the backup does not cover (their state would be deleted): ${uncovered.slice(0, 10).join(', ')}; --force to restore anyway`,
      { partitions: uncovered.length },
    );
  }
  const groups = [...new Set([...manifest.partitions, ...live].map((p) => p.group))].sort();
  const members = await guard.activeMembers(groups);
  const busy = groups.filter((g) => (members.get(g) ?? 0) > 0);
  if (busy.length > 0 && !force) {
    throw backupError(
      BackupErrorCodes.workersRunning,
      `stop the workers first: consumer group(s) with live members: ${busy.map((g) => `${g} (${members.get(g)})`).join(', ')}; --force restores anyway and fences them`,
      { groups: busy.join(',') },
    );
  }
  const topics = [...new Set(manifest.partitions.map((p) => p.topic))].sort();
  const check = checkOffsets(manifest.partitions, await guard.offsetRanges(topics));
  if (check.problems.length > 0) {
    throw backupError(
      BackupErrorCodes.offsetGone,
      `Kafka no longer holds the input the restored state must read again (exactly once would break); restore a newer backup or raise the topic's retention:\n  ${check.problems.join('\n  ')}`,
      { problems: check.problems.length, first: check.problems[0] },
    );
  }
  if (busy.length === 0) await guard.commitGroupOffsets(check.groupOffsets);
  else logger.warn({ groups: busy }, 'forced restore with live group members: their Kafka offsets are not reset');
  return busy;
}

/** The snapshot must hold what the manifest says (a swapped or truncated file is refused). */
async function verifySnapshot(scratch: Redis, manifest: RedisManifest, keys: readonly string[]): Promise<void> {
  if (keys.length !== manifest.keys) {
    throw backupError(BackupErrorCodes.corrupt, `the RDB holds ${keys.length} keys under "${manifest.keyPrefix}", the manifest says ${manifest.keys}`);
  }
  const metas = await readMetas(scratch, manifest.keyPrefix, keys);
  const got = JSON.stringify(metas);
  const want = JSON.stringify([...manifest.partitions].sort(byPartition));
  if (got !== want) throw backupError(BackupErrorCodes.corrupt, 'the RDB\'s partition positions differ from the manifest\'s');
}

/** Every partition meta hash among `keys`, sorted by group, topic, partition. */
async function readMetas(redis: Redis, prefix: string, keys: readonly string[]): Promise<PartitionMeta[]> {
  const metas: PartitionMeta[] = [];
  for (const key of keys) {
    const ref = parseMetaKey(prefix, key);
    if (!ref) continue;
    const [epoch, nextOffset] = await redis.hmget(key, 'epoch', 'next_offset');
    metas.push({ group: ref.group, topic: ref.topic, partition: ref.partition, nextOffset: nextOffset ?? null, epoch: Number(epoch ?? 0) });
  }
  return metas.sort(byPartition);
}

function byPartition(a: PartitionRefLike, b: PartitionRefLike): number {
  return partitionId(a) < partitionId(b) ? -1 : partitionId(a) > partitionId(b) ? 1 : 0;
}

async function unlinkAll(redis: Redis, keys: readonly string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < keys.length; i += 500) removed += await redis.unlink(keys.slice(i, i + 500));
  return removed;
}

async function sourceVersion(url: string): Promise<string> {
  const redis = connectRedis(url, { commandTimeoutMs: 10_000 });
  try {
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    throw backupError(BackupErrorCodes.toolFailed, `cannot reach Redis at ${url}: ${(err as Error).message}`, {}, err);
  } finally {
    redis.disconnect();
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
