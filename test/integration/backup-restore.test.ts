import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaRestoreGuard } from '../../src/adapters/kafka/restore-guard.ts';
import { backupRedis, restoreRedis } from '../../src/adapters/redis/backup.ts';
import { parseRedisManifest, type RedisManifest } from '../../src/adapters/redis/backup-manifest.ts';
import { partitionKeys } from '../../src/adapters/redis/keys.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { compareWithOracle, expectExact, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, REDIS_URL, sleep } from '../support/kafka-fixture.ts';
import { backupCli, cliSummary } from '../support/backup-cli.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Backup and restore of the state store on the real stack, with the counting actor's worker
 * processes and the fault tests' brute-force oracle (test/support/fault-oracle.ts).
 *
 * 1. A backup taken mid-stream while two workers commit; the stream finishes; the workers stop;
 *    every stored state is overwritten with garbage (the oracle comparison must then fail); the
 *    backup is restored with the CLI; new workers resume from the backup's positions, process
 *    the rest again and the final state equals the oracle. Every partition's epoch after the
 *    restore is above its epoch before it and the backup's.
 * 2. Refusals: a restore while a worker is in the group, and a restore whose position Kafka no
 *    longer holds (deleteRecords moved the partition's earliest offset past it). Neither writes.
 */
const SEED = 31_337;
const EVENTS = 60_000;

async function epochs(fixture: FaultFixture): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < fixture.partitions; p += 1) {
    out.push(Number((await fixture.redis.hget(partitionKeys(fixture.keyPrefix, { group: fixture.group, topic: fixture.topic, partition: p }).meta, 'epoch')) ?? 0));
  }
  return out;
}

async function waitForProgress(fixture: FaultFixture, atLeast: number, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await fixture.progress();
    if (progress >= atLeast) return progress;
    if (Date.now() > deadline) throw new Error(`progress ${progress} < ${atLeast} after ${timeoutMs} ms; logs in ${fixture.logDir}`);
    await sleep(50);
  }
}

describe('backup and restore of the state store', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await killAllWorkers();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('restores a mid-stream backup over damaged state; workers resume and end exact', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'backup_redis', latenessMs: FAULT_LATENESS_MS });
    const dir = mkdtempSync(join(tmpdir(), 'rs-backup-it-'));
    dirs.push(dir);
    const env = fixture.workerEnv({ RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '500' });
    let passed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const bursts = placeStream(stream, 48);
      const workers = [fixture.startWorker(env), fixture.startWorker(env)];
      await Promise.all(workers.map((w) => w.waitRunning()));
      await fixture.produce(bursts.slice(0, 12).flat());
      await waitForProgress(fixture, 12_000);

      // The backup, while both workers commit and input keeps coming (1,250 events every 250 ms:
      // the snapshot is taken a few seconds after redis-cli starts, see docs/backup-restore.md).
      const producing = (async () => {
        for (const burst of bursts.slice(12)) {
          await fixture.produce(burst);
          await sleep(250);
        }
      })();
      const backup = await backupCli(['redis', '--out', join(dir, 'b')], env);
      expect(backup.code, backup.stderr).toBe(0);
      const manifest: RedisManifest = parseRedisManifest(readFileSync(join(dir, 'b', 'manifest.json'), 'utf8'));
      const backedUp = manifest.partitions.reduce((sum, p) => sum + Number(p.nextOffset ?? 0), 0);
      expect(manifest.partitions.map((p) => p.partition).sort((a, b) => a - b)).toEqual([...Array(fixture.partitions).keys()]);
      expect(manifest.partitions.every((p) => p.group === fixture.group && p.topic === fixture.topic && p.nextOffset !== null)).toBe(true);
      expect(backedUp).toBeGreaterThanOrEqual(12_000);
      expect(backedUp, 'the backup must be mid-stream').toBeLessThan(EVENTS);
      await producing;
      // A third worker joins: the rebalance re-claims every partition, so the live epochs are
      // above the backup's (restoring the backup's epoch, or that plus one, would un-fence).
      workers.push(fixture.startWorker(env));
      await workers[2]!.waitRunning();
      await fixture.waitCaughtUp(120_000);

      // Refused while the workers are in the group; nothing written.
      const epochsLive = await epochs(fixture);
      const refused = await backupCli(['restore-redis', '--from', join(dir, 'b')], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('RESTORE_WORKERS_RUNNING');
      expect(refused.stderr).toContain(fixture.group);
      expect(await epochs(fixture)).toEqual(epochsLive);

      await Promise.all(workers.map((w) => w.stop()));
      const epochsBefore = await epochs(fixture);
      await damageStates(fixture);
      const damaged = await compareWithOracle(fixture, stream);
      expect(damaged.mismatchCount, 'the damage must be visible to the oracle').toBeGreaterThan(1_000);

      const restore = await backupCli(['restore-redis', '--from', join(dir, 'b')], env);
      expect(restore.code, restore.stderr).toBe(0);
      const summary = cliSummary<{ keysRestored: number }>(restore);
      expect(summary.keysRestored).toBe(manifest.keys);
      const epochsAfter = await epochs(fixture);
      const stored = await fixture.storedOffsets();
      for (const p of manifest.partitions) {
        expect(epochsAfter[p.partition]).toBe(Math.max(epochsBefore[p.partition]!, p.epoch) + 1);
        expect(epochsBefore[p.partition]).toBeGreaterThan(p.epoch);
        expect(epochsAfter[p.partition]).toBeGreaterThan(epochsBefore[p.partition]!);
        expect(stored.get(p.partition)).toBe(Number(p.nextOffset));
      }
      expect(await fixture.progress()).toBe(backedUp);

      const again = [fixture.startWorker(env), fixture.startWorker(env)];
      await Promise.all(again.map((w) => w.waitRunning()));
      await fixture.waitCaughtUp(150_000);
      const result = await expectExact(fixture, stream);
      expect(result.expected.duplicates).toBeGreaterThan(EVENTS * 0.03);
      expect(result.expected.late).toBeGreaterThan(EVENTS * 0.005);
      // Claims after the restore start above the restored epochs (a zombie of before stays fenced).
      const final = await epochs(fixture);
      for (const [p, e] of final.entries()) expect(e).toBeGreaterThan(epochsAfter[p]!);
      console.log(
        `[backup] backup at ${backedUp}/${EVENTS} events (${manifest.keys} keys, ${manifest.rdb.bytes} B RDB); ` +
          `epochs before ${epochsBefore.join(',')} → restored ${epochsAfter.join(',')}; ${damaged.mismatchCount} keys damaged; ` +
          `${result.keys} keys exact after resuming; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      passed = true;
    } finally {
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}`);
    }
  }, 300_000);

  it('refuses while a worker is in the group, and when Kafka no longer holds a restored position', async () => {
    const fixture = new FaultFixture({ name: 'backup_gone', latenessMs: FAULT_LATENESS_MS, partitions: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'rs-backup-it-'));
    dirs.push(dir);
    const config = loadConfig(fixture.workerEnv());
    const logger = silentLogger();
    const guard = await kafkaRestoreGuard(config, logger);
    let passed = false;
    try {
      await fixture.setUp();
      const batch = (from: number) =>
        [0, 1].flatMap((partition) => Array.from({ length: 100 }, (_, i) => ({ partition, value: Buffer.from(JSON.stringify({ id: `e${partition}-${from + i}`, k: `k${partition}`, ts: 1_700_000_000_000 + from + i, v: 1 })) })));
      await fixture.produce(batch(0));
      const worker = fixture.startWorker();
      await worker.waitRunning();
      await fixture.waitCaughtUp(60_000);
      await backupRedis({ url: REDIS_URL, keyPrefix: fixture.keyPrefix, outDir: dir, logger });
      const options = { url: REDIS_URL, keyPrefix: fixture.keyPrefix, fromDir: dir, guard, logger };

      await expect(restoreRedis(options)).rejects.toMatchObject({ code: 'RESTORE_WORKERS_RUNNING' });
      await worker.stop();

      await fixture.produce(batch(100));
      await fixture.admin.deleteTopicRecords({ topic: fixture.topic, partitions: [{ partition: 0, offset: '150' }] });
      const before = await epochs(fixture);
      const refusal = restoreRedis(options);
      await expect(refusal).rejects.toMatchObject({ code: 'RESTORE_OFFSET_GONE' });
      const message = await refusal.catch((err: Error) => err.message);
      expect(message).toContain(`topic ${fixture.topic} partition 0 (group ${fixture.group}): restored next_offset 100 is below Kafka's earliest offset 150`);
      expect(message).not.toContain('partition 1 ');
      expect(await epochs(fixture)).toEqual(before);
      expect(await fixture.storedOffsets()).toEqual(new Map([[0, 100], [1, 100]]));
      passed = true;
    } finally {
      await guard.close();
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}`);
    }
  }, 180_000);
});

/** Overwrites every counter state with garbage and drops half the partitions' dedup marks. */
async function damageStates(fixture: FaultFixture): Promise<void> {
  for (let p = 0; p < fixture.partitions; p += 1) {
    const keys = partitionKeys(fixture.keyPrefix, { group: fixture.group, topic: fixture.topic, partition: p });
    const fields = await fixture.redis.hkeys(keys.state);
    if (fields.length > 0) await fixture.redis.hset(keys.state, Object.fromEntries(fields.map((f) => [f, 'v1:{"count":7,"sum":7}'])));
    if (p % 2 === 0) await fixture.redis.del(keys.dedup);
  }
}
