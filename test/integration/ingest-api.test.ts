import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { BatchingProducer } from '../../src/adapters/kafka/producer.ts';
import { MemoryApiKeyStore } from '../../src/adapters/memory/api-key-store.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../../src/adapters/redis/api-key-store.ts';
import { buildIngestApp } from '../../src/api/ingest/app.ts';
import { hashApiKey, newApiKey } from '../../src/api/ingest/auth.ts';
import { decodeEvent } from '../../src/contract/wire.ts';
import { TopicBase, topics } from '../../src/provision/topics.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { testConfig, uniqueName } from '../support/services.ts';

const { Kafka, logLevel } = kafkajs;
const logger = silentLogger();

describe('ingest API on real Kafka', () => {
  const prefix = `${uniqueName('it_ingest')}.`;
  const config = testConfig({ kafka: { topicPrefix: prefix } });
  const wanted = topics(prefix).filter((t) => t.base === TopicBase.events);
  const topic = wanted[0]!.name;
  const keys = new MemoryApiKeyStore();
  const key = newApiKey();
  const producer = new BatchingProducer({
    brokers: config.kafka.brokers,
    clientId: 'it-ingest',
    lingerMs: 1,
    maxBatchRecords: 5_000,
    sendTimeoutMs: 5_000,
    logger,
  });
  const app = buildIngestApp({ config, sink: producer, keys, logger, registry: new Registry() });

  beforeAll(async () => {
    await ensureTopics(config, wanted, { logger });
    await keys.put(key.hash, { keyId: key.keyId, name: 'it', scopes: ['ingest'], createdMs: Date.now() });
    await producer.connect();
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await producer.close();
    await deleteTopics(config, [topic], logger);
  });

  async function readAll(expected: number): Promise<kafkajs.KafkaMessage[]> {
    const kafka = new Kafka({
      clientId: 'it-read',
      brokers: [...config.kafka.brokers],
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: `${prefix}reader` });
    const seen: kafkajs.KafkaMessage[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    const deadline = Date.now() + 30_000;
    while (seen.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1_000)); // anything extra would show up now
    await consumer.disconnect();
    return seen;
  }

  it('a mixed valid+invalid batch delivers each valid event exactly once, keyed by merchant', async () => {
    const now = Date.now();
    const events = Array.from({ length: 40 }, (_, i) => ({
      event_id: `mix-${i}`,
      ts_ms: now - i,
      user_id: `u${i % 7}`,
      merchant_id: `m${i % 5}`,
      amount: i + 0.5,
      currency: 'usd',
      status: 'captured',
      ...(i % 10 === 3 ? { amount: '12' } : {}),
    }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      payload: JSON.stringify(events),
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(207);
    const body = res.json() as { accepted: number; rejected: number };
    expect([body.accepted, body.rejected]).toEqual([36, 4]);
    const single = await app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: JSON.stringify({ ...events[0], event_id: 'single-1' }),
      headers: { 'x-api-key': key.key, 'content-type': 'application/json' },
    });
    expect(single.statusCode).toBe(202);
    const messages = await readAll(37);
    const ids = messages.map((m) => decodeEvent(m.value!).event_id).sort();
    const expected = [...events.filter((_, i) => i % 10 !== 3).map((e) => e.event_id), 'single-1'].sort();
    expect(ids).toEqual(expected);
    for (const m of messages) {
      const e = decodeEvent(m.value!);
      expect(m.key!.toString()).toBe(e.merchant_id);
      expect(e.currency).toBe('USD');
      expect(m.headers?.['rs-schema']?.toString()).toBe('payment-event.v1');
    }
  });

  it('is not ready before connect() resolved (the idempotent producer id comes after the brokers are reached)', async () => {
    const late = new BatchingProducer({ brokers: [...config.kafka.brokers], clientId: 'it-late', lingerMs: 1, maxBatchRecords: 100, sendTimeoutMs: 5_000, logger });
    let connected = false;
    let readyEarly = 0;
    const connecting = late.connect().then(() => {
      connected = true;
    });
    // Poll on every turn of the event loop while connect() is still running.
    while (!connected) {
      if (late.isReady()) readyEarly += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await connecting;
    expect(readyEarly).toBe(0);
    expect(late.isReady()).toBe(true);
    await late.close();
  });

  it('Kafka unreachable → 503 with Retry-After, readyz 503, nothing accepted', async () => {
    const dead = new BatchingProducer({
      brokers: ['127.0.0.1:1'],
      clientId: 'it-dead',
      lingerMs: 1,
      maxBatchRecords: 100,
      sendTimeoutMs: 1_000,
      logger,
    });
    await expect(dead.connect()).rejects.toThrow();
    const deadApp = buildIngestApp({ config, sink: dead, keys, logger, registry: new Registry() });
    const res = await deadApp.inject({
      method: 'POST',
      url: '/v1/events',
      payload: JSON.stringify({
        event_id: 'x',
        ts_ms: Date.now(),
        user_id: 'u',
        merchant_id: 'm',
        amount: 1,
        status: 'failed',
      }),
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect((res.json() as { error: string }).error).toBe('KAFKA_UNAVAILABLE');
    expect((await deadApp.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await deadApp.close();
  });
});

describe('Redis API key store', () => {
  const redis = new Redis(testConfig().redis.url);
  const prefix = uniqueName('it_keys');
  afterAll(async () => {
    await unlinkByPrefix(redis, prefix);
    await redis.quit();
  });

  it('stores only hashes, finds by hash, lists and revokes', async () => {
    const store = new RedisApiKeyStore(redis, prefix);
    const k = newApiKey();
    await store.put(k.hash, { keyId: k.keyId, name: 'svc', scopes: ['ingest', 'read'], createdMs: 1 });
    expect((await store.findByHash(hashApiKey(k.key)))?.scopes).toEqual(['ingest', 'read']);
    const raw = JSON.stringify(await redis.hgetall(`${prefix}:apikeys:by-hash`));
    expect(raw).not.toContain(k.key);
    expect(await store.revoke(k.keyId, 99)).toBe(true);
    expect(await store.revoke('nope', 99)).toBe(false);
    expect((await store.list()).map((r) => [r.keyId, r.revokedMs])).toEqual([[k.keyId, 99]]);
  });
});
