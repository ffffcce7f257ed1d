import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig, uniqueName } from '../support/services.ts';

// Smoke test of ioredis against the local Redis: a Lua script round trip by EVAL and EVALSHA,
// the way the state store runs its scripts.
describe('Redis on the local stack', () => {
  const config = testConfig();
  const prefix = uniqueName('it_redis');
  const redis = new Redis(config.redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  // Sets KEYS[1] to ARGV[1] and returns what GET then reads, plus the key's TTL.
  const script =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  it('runs a script by EVAL and by EVALSHA with the same result', async () => {
    const byEval = (await redis.eval(script, 1, `${prefix}:a`, 'hello', 60_000)) as [string, number];
    expect(byEval[0]).toBe('hello');
    expect(byEval[1]).toBeGreaterThan(55_000);

    const sha = (await redis.script('LOAD', script)) as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const bySha = (await redis.evalsha(sha, 1, `${prefix}:b`, 'world', 60_000)) as [string, number];
    expect(bySha[0]).toBe('world');
    expect(await redis.get(`${prefix}:b`)).toBe('world');
  });

  it('reports NOSCRIPT for an unknown sha (the caller then falls back to EVAL)', async () => {
    await expect(redis.evalsha('0'.repeat(40), 1, `${prefix}:c`, 'x', 1000)).rejects.toThrow(/NOSCRIPT/);
  });

  it('runs with AOF persistence (appendonly yes, appendfsync everysec)', async () => {
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as [string, string];
    const [, fsync] = (await redis.config('GET', 'appendfsync')) as [string, string];
    expect([appendonly, fsync]).toEqual(['yes', 'everysec']);
  });
});
