import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, freePort, httpOk, waitFor } from '../../load-tests/processes.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../../src/adapters/redis/api-key-store.ts';
import { LiveScoreSink } from '../../src/adapters/redis/live-scores.ts';
import { newApiKey } from '../../src/api/ingest/auth.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { pauseStackService, resumeStackService, type StackService } from '../support/stack-service.ts';

const STORE_TIMEOUT_MS = 1_000;

/**
 * The lookup API while a store is frozen (SIGSTOP: connections stay open and nothing answers,
 * the worst case for a client without timeouts): a read that needs Redis (live scores) or
 * Cassandra (windows) is answered 503 with Retry-After within about the API's storeTimeoutMs,
 * instead of hanging, and the API answers 200 again once the store is resumed, without a restart.
 */
describe('lookup API with a frozen store', () => {
  const name = `it_lookup_outage_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined);
  const prefix = `${base.redis.keyPrefix}:${name}`;
  let paused: number | undefined;
  let work = '';
  let api: Child | undefined;
  let url = '';
  let readKey = '';

  afterAll(async () => {
    if (paused !== undefined) resumeStackService(paused);
    await api?.stop();
    await unlinkByPrefix(redis, prefix).catch(() => 0);
    await redis.quit();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const started = Date.now();
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${readKey}` }, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown>, ms: Date.now() - started };
  };

  it('starts the API with a read key and a live score', async () => {
    work = await mkdtemp(join(tmpdir(), `${name}-`));
    const key = newApiKey();
    await new RedisApiKeyStore(redis, prefix).put(key.hash, { keyId: key.keyId, name, scopes: ['read'], createdMs: Date.now() });
    readKey = key.key;
    await new LiveScoreSink(redis, prefix).perform([
      { type: 'upsert', sink: 'live_scores', row: { event_id: 'e1', user_id: 'u1', merchant_id: 'm1', ts_ms: Date.now(), score: 0.5 } },
    ]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    api = new Child('src/cli/api.ts', {
      RISKSTREAM_REDIS_KEY_PREFIX: prefix, RISKSTREAM_API_PORT: String(port), RISKSTREAM_API_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn', RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
    }, join(work, 'api.log'));
    api.start();
    await waitFor('api ready', () => httpOk(`${url}/healthz`), 60_000);
    expect((await get('/v1/users/u1/risk')).status).toBe(200);
  }, 90_000);

  const windows = `/v1/merchants/m1/windows?from=${Date.now() - 3_600_000}&to=${Date.now()}`;
  const cases: readonly [StackService, string][] = [['redis', '/v1/users/u1/risk'], ['cassandra', windows]];
  it.each(cases)('%s frozen: %s answers 503 with Retry-After in bounded time, then 200 again', async (service, path) => {
    expect((await get(path)).status).toBe(200);
    paused = pauseStackService(service);
    try {
      const during = await get(path);
      expect(during.status, JSON.stringify(during.body)).toBe(503);
      expect(during.retryAfter).toBe('1');
      expect(during.body.error).toBe(service === 'redis' ? 'STORE_UNAVAILABLE' : 'CASSANDRA_UNAVAILABLE');
      expect(during.ms).toBeLessThan(STORE_TIMEOUT_MS + 2_000);
      console.log(`[lookup ${service} frozen] ${path.split('?')[0]} answered ${during.status} in ${during.ms} ms`);
    } finally {
      resumeStackService(paused);
      paused = undefined;
    }
    // Back without a restart (the first reads after a resume may still catch the reconnect).
    let after = await get(path);
    for (let i = 0; i < 40 && after.status !== 200; i += 1) {
      await new Promise((r) => setTimeout(r, 250));
      after = await get(path);
    }
    expect(after.status).toBe(200);
    expect(api?.running).toBe(true);
  }, 90_000);
});
