import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { BackupErrorCodes, backupError } from '../backup-errors.ts';
import { type PartitionMeta, type PartitionRefLike, partitionId, type RestoredPartition } from './backup-manifest.ts';
import { partitionKeys } from './keys.ts';

/**
 * The writing half of a Redis restore: positions first (each with its fencing epoch raised, in
 * one script per partition), then every other key copied with DUMP/RESTORE.
 *
 * Order: positions and epochs go first so that from the first write on, every owner of before
 * the restore is fenced: the commit script compares epochs before anything else. A restore
 * interrupted half-way can simply be run again: epochs only go up, and every key is replaced.
 */

const RESTORE_META = 'riskstreamBackup_restoreMeta';
type RestoreMetaFn = (key: string, dump: Buffer | string) => Promise<[number, number, number]>;

function restoreMetaScript(redis: Redis): RestoreMetaFn {
  const client = redis as unknown as Record<string, RestoreMetaFn | undefined>;
  if (typeof client[RESTORE_META] !== 'function') {
    const lua = readFileSync(new URL('./lua/restoreMeta-1.lua', import.meta.url), 'utf8');
    redis.defineCommand(RESTORE_META, { lua, numberOfKeys: 1 });
  }
  const fn = client[RESTORE_META]!;
  return (key, dump) => fn.call(redis, key, dump);
}

/**
 * Restores each backed-up partition's meta hash from the snapshot and raises its epoch to
 * max(live, backup) + 1; a partition only the target has keeps just its raised epoch (no
 * position: it starts where the group's committed offset says, which the restore reset).
 */
export async function restoreMetas(
  scratch: Redis,
  target: Redis,
  prefix: string,
  backup: readonly PartitionMeta[],
  live: readonly PartitionRefLike[],
): Promise<RestoredPartition[]> {
  const restoreMeta = restoreMetaScript(target);
  const inBackup = new Set(backup.map(partitionId));
  const report: RestoredPartition[] = [];
  const plan: { ref: PartitionRefLike; nextOffset: string | null; fromBackup: boolean }[] = [
    ...backup.map((p) => ({ ref: p, nextOffset: p.nextOffset, fromBackup: true })),
    ...live.filter((p) => !inBackup.has(partitionId(p))).map((p) => ({ ref: p, nextOffset: null, fromBackup: false })),
  ];
  for (const { ref, nextOffset, fromBackup } of plan) {
    const key = partitionKeys(prefix, ref).meta;
    const dump = fromBackup ? await scratch.dumpBuffer(key) : '';
    if (dump === null) throw backupError(BackupErrorCodes.corrupt, `the snapshot lost ${key} while it was read`);
    const [epochBefore, epochBackup, epochAfter] = await restoreMeta(key, dump);
    report.push({ group: ref.group, topic: ref.topic, partition: ref.partition, nextOffset, epochBefore, epochBackup, epochAfter });
  }
  return report;
}

/** Copies `keys` from the snapshot into the target (replacing), with their remaining TTLs. */
export async function copyKeys(scratch: Redis, target: Redis, keys: readonly string[], chunk = 200): Promise<number> {
  let copied = 0;
  for (let i = 0; i < keys.length; i += chunk) {
    const slice = keys.slice(i, i + chunk);
    const read = scratch.pipeline();
    for (const key of slice) read.dumpBuffer(key).pttl(key);
    const replies = (await read.exec()) ?? [];
    const write = target.pipeline();
    let writes = 0;
    slice.forEach((key, j) => {
      const [dumpErr, dump] = replies[2 * j] ?? [];
      const [, pttl] = replies[2 * j + 1] ?? [];
      if (dumpErr) throw backupError(BackupErrorCodes.corrupt, `DUMP ${key} failed in the snapshot: ${dumpErr.message}`);
      // null or -2: expired since the snapshot was loaded; -1: no TTL (RESTORE takes 0 for none,
      // so a key with a TTL gets at least 1 ms: it must not become persistent).
      if (dump === null || pttl === -2) return;
      write.restore(key, Number(pttl) === -1 ? 0 : Math.max(1, Number(pttl)), dump as Buffer, 'REPLACE');
      writes += 1;
    });
    for (const [err] of (await write.exec()) ?? []) {
      if (err) throw backupError(BackupErrorCodes.toolFailed, `RESTORE into the target failed: ${err.message}`, {}, err);
    }
    copied += writes;
  }
  return copied;
}
