import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFailures, expectExact, FAULT_LATENESS_MS, faultStream, groupActivity } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, REDIS_URL, sleep } from '../support/kafka-fixture.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (i): Redis runs out of memory mid-stream (maxmemory reached, policy noeviction, as a
 * state store must run: an evicting policy would silently drop states and dedup marks). Every
 * commit that adds data is then refused with an OOM error. Redis checks a script's memory at its
 * first write that may grow memory, so a refused commit wrote nothing; the workers retry with a backoff, the partitions stop
 * moving, nothing crashes; once memory is raised they go on, and the final state is exact.
 */
const SEED = 9_191;
const EVENTS = 200_000;
const FULL_MS = 6_000;

function usedMemory(info: string): number {
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('no used_memory in INFO memory');
  return Number(match[1]);
}

describe('fault: Redis out of memory mid-stream', () => {
  afterAll(killAllWorkers);

  it(`ends exact after ${FULL_MS / 1000} s of refused commits`, async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_redis_full', latenessMs: FAULT_LATENESS_MS });
    const admin = new Redis(REDIS_URL);
    admin.on('error', () => undefined);
    const before = (await admin.call('CONFIG', 'GET', 'maxmemory')) as string[];
    const notes: string[] = [];
    let limited = false;
    let passed = false;
    try {
      const policy = (await admin.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
      expect(policy[1], 'the stack runs Redis with noeviction').toBe('noeviction');
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '1000' };
      const workers = [fixture.startWorker(env), fixture.startWorker(env)];
      await Promise.all(workers.map((w) => w.waitRunning()));
      const producing = fixture.produce(placeStream(stream)[0]!);
      while ((await fixture.progress()) < EVENTS / 5) await sleep(50);

      // A limit just above what Redis holds now: the next commits fill it, then all are refused.
      const used = usedMemory(String(await admin.info('memory')));
      await admin.call('CONFIG', 'SET', 'maxmemory', String(used + 512 * 1024));
      limited = true;
      await sleep(2_000);
      const atFull = await fixture.progress();
      await sleep(FULL_MS);
      const afterFull = await fixture.progress();
      notes.push(`limit ${(used / 1048576).toFixed(1)} MiB + 0.5; progress ${atFull} → ${afterFull} while full`);
      // Nearly stalled, not frozen: a commit whose first write is a deletion (pruning dedup
      // marks) is not refused, and memory it frees lets a few more through.
      expect(afterFull - atFull, 'commits are refused while Redis is full').toBeLessThan(EVENTS / 20);
      expect(afterFull).toBeLessThan(EVENTS);
      await admin.call('CONFIG', 'SET', 'maxmemory', before[1] ?? '0');
      limited = false;

      await producing;
      await fixture.waitCaughtUp(150_000);
      await expectExact(fixture, stream);
      expect(workers.map((w) => w.alive)).toEqual([true, true]);
      const oom = batchFailures(workers).filter((f) => /OOM/.test(f.message)).length;
      expect(oom).toBeGreaterThan(0);
      console.log(`[fault i] ${notes.join('; ')}; ${oom} batches refused with OOM and retried, ${groupActivity(workers)}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
      passed = true;
    } finally {
      // Never leave the shared Redis limited.
      if (limited) await admin.call('CONFIG', 'SET', 'maxmemory', before[1] ?? '0').catch(() => undefined);
      admin.disconnect();
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; ${notes.join('; ')}`);
    }
  }, 300_000);
});
