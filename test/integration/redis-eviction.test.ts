import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy } from '../../src/adapters/redis/admin.ts';
import { FaultFixture, REDIS_URL } from '../support/kafka-fixture.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * The worker refuses a Redis whose maxmemory-policy may evict the store's keys (allkeys-*),
 * and accepts noeviction and volatile-* (only keys with a TTL go). The policy of the shared
 * Redis is changed for the test and always put back.
 */
describe('redis maxmemory-policy check', () => {
  const redis = new Redis(REDIS_URL);
  let original = 'noeviction';

  afterAll(async () => {
    await redis.call('CONFIG', 'SET', 'maxmemory-policy', original);
    redis.disconnect();
    await killAllWorkers();
  });

  it('tells safe policies from evicting ones', async () => {
    original = ((await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[])[1] ?? 'noeviction';
    const seen: Record<string, boolean | undefined> = {};
    for (const policy of ['noeviction', 'volatile-lru', 'volatile-ttl', 'allkeys-lru', 'allkeys-random']) {
      await redis.call('CONFIG', 'SET', 'maxmemory-policy', policy);
      const check = await checkEvictionPolicy(redis);
      expect(check.policy).toBe(policy);
      seen[policy] = check.safe;
    }
    expect(seen).toEqual({ noeviction: true, 'volatile-lru': true, 'volatile-ttl': true, 'allkeys-lru': false, 'allkeys-random': false });
  });

  it('a worker exits with code 2 and says why under allkeys-lru, before consuming', async () => {
    const fixture = new FaultFixture({ name: 'it_eviction', latenessMs: 60_000 });
    let passed = false;
    try {
      await fixture.setUp();
      await redis.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      const worker = fixture.startWorker();
      const exit = await worker.exited;
      expect(exit.code).toBe(2);
      expect(worker.count('unsafe redis configuration; exiting')).toBe(1);
      expect(worker.count('worker running')).toBe(0);
      passed = true;
    } finally {
      await redis.call('CONFIG', 'SET', 'maxmemory-policy', original);
      await fixture.tearDown(passed);
    }
  }, 60_000);
});
