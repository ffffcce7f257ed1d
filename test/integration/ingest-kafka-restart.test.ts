import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, freePort, httpOk, waitFor } from '../../load-tests/processes.ts';
import { deleteTopics, endOffsets, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { readTopic } from '../../src/adapters/kafka/reader.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../../src/adapters/redis/api-key-store.ts';
import { newApiKey } from '../../src/api/ingest/auth.ts';
import { IngestClient } from '../../src/cli/ingest-client.ts';
import { generateTraffic, generatorOptions } from '../../src/generator/generate.ts';
import { TopicBase, topics } from '../../src/provision/topics.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { killStackService, pauseStackService, resumeStackService, startStackService } from '../support/stack-service.ts';

const BATCH = 50;
const PAUSE_MS = 40;
/**
 * kill: kill -9, started again 8 s later. pause: SIGSTOP for 12 s, then SIGCONT (a hung broker:
 * sends hang instead of failing until the API's send timeout answers them, and the resumed
 * broker is fenced by its own controller for a moment).
 */
const FAULTS = [
  { fault: 'kill', outageMs: 8_000 },
  { fault: 'pause', outageMs: 12_000 },
] as const;

/**
 * The ingest API through a broker crash: batches are POSTed one after another while Kafka is
 * killed (kill -9) and started again 8 s later. A batch answered 202 must be in Kafka, once per
 * event; while the broker is down batches get 503 with a retry hint (a timed-out batch may still
 * land later: the API says so, and retrying it is safe by event_id), never a 5xx crash; and
 * the API takes batches again without a restart once the broker is back.
 */
describe.each(FAULTS)('ingest API through a Kafka $fault', ({ fault, outageMs }) => {
  const name = `it_ingest_kafka_${fault}_${process.pid}_${Date.now().toString(36)}`;
  const base = loadConfig(process.env);
  const config = loadConfig(process.env, { kafka: { topicPrefix: `${name}.` } });
  const logger = createLogger({ level: 'warn', name: 'test' });
  const wanted = topics(`${name}.`).filter((t) => t.base === TopicBase.events);
  const eventsTopic = wanted[0]!.name;
  const redis = new Redis(base.redis.url);
  redis.on('error', () => undefined);
  const redisPrefix = `${base.redis.keyPrefix}:${name}`;
  let killed = false;
  let paused: number | undefined;
  let work = '';
  let api: Child | undefined;

  afterAll(async () => {
    if (paused !== undefined) resumeStackService(paused);
    if (killed) await startStackService('kafka');
    await api?.stop();
    await deleteTopics(config, wanted.map((w) => w.name), logger).catch(() => undefined);
    await unlinkByPrefix(redis, redisPrefix).catch(() => 0);
    await redis.quit();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('loses no accepted event, answers 503 while the broker is down and recovers by itself', async () => {
    work = await mkdtemp(join(tmpdir(), `${name}-`));
    await ensureTopics(config, wanted, { logger });
    const key = newApiKey();
    await new RedisApiKeyStore(redis, redisPrefix).put(key.hash, { keyId: key.keyId, name, scopes: ['ingest'], createdMs: Date.now() });
    const port = await freePort();
    api = new Child('src/cli/api.ts', {
      RISKSTREAM_KAFKA_TOPIC_PREFIX: `${name}.`, RISKSTREAM_REDIS_KEY_PREFIX: redisPrefix, RISKSTREAM_API_PORT: String(port),
      RISKSTREAM_OBSERVABILITY_LOG_LEVEL: 'warn', RISKSTREAM_OBSERVABILITY_METRICS_PORT: '0',
    }, join(work, 'api.log'));
    api.start();
    await waitFor('api ready', () => httpOk(`http://127.0.0.1:${port}/readyz`), 60_000);

    const traffic = generateTraffic(generatorOptions({ seed: name, events: 120_000, duplicateRate: 0, outOfOrderRate: 0, lateRate: 0 }));
    const events = traffic.emissions.map((e) => e.event);
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: key.key });
    const accepted = new Set<string>();
    const statuses = new Map<number, number>();
    const after: number[] = []; // statuses once the broker is back
    const broker: { phase: 'before' | 'down' | 'back' } = { phase: 'before' };
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 3_000));
      if (fault === 'pause') paused = pauseStackService('kafka');
      else {
        await killStackService('kafka');
        killed = true;
      }
      broker.phase = 'down';
      await new Promise((r) => setTimeout(r, outageMs));
      if (paused === undefined) await startStackService('kafka');
      else resumeStackService(paused);
      paused = undefined;
      broker.phase = 'back';
    })();
    let sent = 0;
    let backSince = 0;
    // Send until the broker has been back for 15 s (or the events run out).
    while (sent + BATCH <= events.length && !(backSince > 0 && Date.now() - backSince > 15_000)) {
      const batch = events.slice(sent, sent + BATCH);
      sent += BATCH;
      const res = await client.postBatch(batch.map((e) => JSON.stringify(e)).join('\n'));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 202) for (const e of batch) accepted.add(e.event_id);
      else expect(res.status, res.body).toBe(503);
      if (broker.phase === 'back') {
        backSince ||= Date.now();
        after.push(res.status);
      }
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
    await outage;
    client.close();
    // The loop ends once the broker has been back for 15 s; running out of events first would
    // leave the recovery unchecked (120,000 events last ~100 s of sending at 50 per ~40 ms).
    expect(sent + BATCH <= events.length, `ran out of events after ${sent}`).toBe(true);

    // Every accepted event is in Kafka exactly once; nothing there was never sent.
    const sentIds = new Set(events.slice(0, sent).map((e) => e.event_id));
    const ends = await endOffsets(config, eventsTopic, logger);
    const total = [...ends.values()].reduce((n, o) => n + Number(o), 0);
    const seen = new Map<string, number>();
    let read = 0;
    await readTopic(config, {
      topic: eventsTopic, groupId: `${name}.reader`, from: new Map([...ends.keys()].map((p) => [p, '0'])), timeoutMs: 120_000, logger,
      onRecord: (record) => {
        read += 1;
        const id = (JSON.parse(String(record.value)) as { event_id: string }).event_id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        return read >= total;
      },
    });
    const missing = [...accepted].filter((id) => !seen.has(id));
    const repeated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    const unknown = [...seen.keys()].filter((id) => !sentIds.has(id));
    console.log(
      `[ingest kafka ${fault}] ${sent / BATCH} batches: ${JSON.stringify(Object.fromEntries(statuses))}; ${accepted.size} events accepted, ` +
        `${seen.size} in Kafka (${seen.size - accepted.size} from batches answered 503), ${repeated.length} repeated`,
    );
    expect(missing).toEqual([]);
    expect(repeated).toEqual([]);
    expect(unknown).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    // Back to accepting without a restart: the last 5 s of batches were all accepted.
    expect(after.length).toBeGreaterThan(20);
    expect(after.slice(-Math.floor(5_000 / PAUSE_MS / 2))).toEqual(after.slice(-Math.floor(5_000 / PAUSE_MS / 2)).map(() => 202));
    expect(api.running).toBe(true);
  }, 240_000);
});
