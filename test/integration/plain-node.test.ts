import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, freePort, httpOk, waitFor } from '../../load-tests/processes.ts';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { topics } from '../../src/provision/topics.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logger.ts';

/**
 * The container image's commands (Dockerfile, deploy/k8s): `node src/cli/worker.ts` and
 * `node src/cli/api.ts` on Node 24's own type stripping, without the tsx loader the other tests
 * use, with the listen addresses given through the variables configmap.yaml sets.
 * Each becomes ready: the worker once it claimed partitions, the API once its producer is up.
 */
describe('entry points under plain node, as the image runs them', () => {
  const name = `it_plain_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${name}.` } });
  const logger = createLogger({ level: 'warn', name: 'test' });
  const wanted = topics(`${name}.`);
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined);
  const prefix = `${base.redis.keyPrefix}:${name}`;
  const children: Child[] = [];
  let work = '';

  afterAll(async () => {
    for (const child of children) await child.stop();
    await deleteTopics(config, wanted.map((w) => w.name), logger).catch(() => undefined);
    await unlinkByPrefix(redis, prefix).catch(() => 0);
    await redis.quit();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a history worker and the API start and become ready', async () => {
    work = await mkdtemp(join(tmpdir(), `${name}-`));
    await ensureTopics(config, wanted, { logger });
    const env = {
      RISKSTREAM_KAFKA_TOPIC_PREFIX: `${name}.`, RISKSTREAM_REDIS_KEY_PREFIX: prefix,
      // Loopback here (this machine binds nothing else); a pod sets 0.0.0.0 (configmap.yaml).
      RISKSTREAM_OBSERVABILITY_METRICS_HOST: '127.0.0.1', RISKSTREAM_API_HOST: '127.0.0.1', RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn',
    };
    const opsPort = await freePort();
    const apiPort = await freePort();
    const worker = new Child('src/cli/worker.ts', { ...env, RISKSTREAM_OBSERVABILITY_METRICS_PORT: String(opsPort) }, join(work, 'worker.log'), {
      plain: true, args: ['--pipeline', 'history'],
    });
    const api = new Child('src/cli/api.ts', { ...env, RISKSTREAM_API_PORT: String(apiPort), RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0' }, join(work, 'api.log'), {
      plain: true,
    });
    children.push(worker, api);
    worker.start();
    api.start();
    await waitFor('worker ready', () => httpOk(`http://127.0.0.1:${opsPort}/readyz`), 60_000);
    await waitFor('api ready', () => httpOk(`http://127.0.0.1:${apiPort}/readyz`), 60_000);
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/^riskstream_runtime_/m);
    expect(worker.running && api.running).toBe(true);
  }, 120_000);
});
