import kafkajs from 'kafkajs';
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchQueue } from '../../src/adapters/bullmq/batch-queue.ts';
import { DuckDbCuratedLake } from '../../src/adapters/duckdb/curated.ts';
import { BronzeLakeReader } from '../../src/adapters/duckdb/bronze-reader.ts';
import { FileLineageSink } from '../../src/adapters/file/lineage-file.ts';
import { KafkaDeadLetterReader, KafkaRepublisher } from '../../src/adapters/kafka/dlq.ts';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { KafkaLabelReader } from '../../src/adapters/kafka/labels-reader.ts';
import { unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { RedisReportStore } from '../../src/adapters/redis/batch-reports.ts';
import { RedisDlqCursors } from '../../src/adapters/redis/dlq-cursors.ts';
import { RedisGraphStore } from '../../src/adapters/redis/graph-store.ts';
import { RedisModelRegistry } from '../../src/adapters/redis/model-registry.ts';
import { DEFAULT_MODEL } from '../../src/analytics/default-model.ts';
import type { DlqTopicResult } from '../../src/batch/dlq-replay.ts';
import { batchJobs, contractProblem } from '../../src/batch/jobs.ts';
import { encodeEvent } from '../../src/contract/wire.ts';
import { fullTopicName, TopicBase, topics } from '../../src/provision/topics.ts';
import { deadLetterEffect } from '../../src/runtime/dead-letter.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { testConfig, uniqueName } from '../support/services.ts';

const { Kafka, logLevel } = kafkajs;

// Dead letters replayed on the local stack: what passes the contract now goes back to its topic
// once (with a header naming the letter), what still fails stays, late events are refused, and
// the cursor makes the next run start after what was replayed.
describe('dlq-replay on the local stack', () => {
  const name = uniqueName('it_dlq');
  const topicPrefix = `${name}.`;
  const config = testConfig({ kafka: { topicPrefix }, redis: { keyPrefix: name } });
  const logger = silentLogger();
  const t = (base: string) => fullTopicName(topicPrefix, base);
  const wanted = topics(topicPrefix).filter((x) => [TopicBase.events, TopicBase.eventsByUser, TopicBase.dlqInvalid, TopicBase.dlqProcessing, TopicBase.dlqLate].includes(x.base as never));
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
  const kafka = new Kafka({ clientId: 'it-dlq', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
  // Idempotent: a retried send (a fresh topic's first produce may time out under load) must not
  // add copies the job would then count as repeats.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const republisher = new KafkaRepublisher(config, logger);
  let dir: string;
  let queue: BatchQueue;

  const event = (id: string, amount: number) => ({ event_id: id, ts_ms: Date.UTC(2026, 0, 1), user_id: 'u1', merchant_id: 'm1', amount, currency: 'USD', status: 'captured' as const });
  const letter = (dlq: string, source: string, offset: number, value: string | null, code: string) => {
    const e = deadLetterEffect({
      topic: source, dlqTopic: dlq, code, reason: code, nowMs: 1,
      record: { partition: 4, offset: String(offset), key: Buffer.from('m1'), value: value === null ? null : Buffer.from(value), timestampMs: 1, headers: {} } as never,
    });
    return { key: e.key, value: e.value };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'it-dlq-'));
    await ensureTopics(config, wanted, { logger });
    await producer.connect();
    const valid = (id: string) => encodeEvent(event(id, 12.5), 1).value;
    await producer.send({ topic: t(TopicBase.dlqInvalid), messages: [
      letter(t(TopicBase.dlqInvalid), t(TopicBase.events), 10, 'not json', 'DECODE_FAILED'), // still invalid
      letter(t(TopicBase.dlqInvalid), t(TopicBase.events), 11, JSON.stringify({ ...event('bad-amount', 2e9), ingest_received_ms: 1 }), 'VALIDATION_FAILED'), // still invalid
      letter(t(TopicBase.dlqInvalid), t(TopicBase.events), 12, valid('fixed-1'), 'VALIDATION_FAILED'), // valid under today's contract
      letter(t(TopicBase.dlqInvalid), t(TopicBase.events), 12, valid('fixed-1'), 'VALIDATION_FAILED'), // an outbox re-drain's repeat
      letter(t(TopicBase.dlqInvalid), 'some.other.topic', 13, valid('elsewhere'), 'VALIDATION_FAILED'), // not a replay target
      { key: 'x', value: 'not a dead letter' },
    ] });
    await producer.send({ topic: t(TopicBase.dlqProcessing), messages: [
      letter(t(TopicBase.dlqProcessing), t(TopicBase.eventsByUser), 20, valid('handler-1'), 'HANDLER_FAILED'),
      letter(t(TopicBase.dlqProcessing), t(TopicBase.eventsByUser), 21, valid('handler-2'), 'HANDLER_FAILED'),
    ] });
    const jobs = batchJobs(config, {
      lake: new BronzeLakeReader(dir),
      curated: new DuckDbCuratedLake({ bronzeDir: dir, dimensionsDir: join(dir, '_dim'), curatedDir: join(dir, '_curated') }),
      labels: new KafkaLabelReader(config, t(TopicBase.labels), logger), graph: new RedisGraphStore(redis, name),
      models: new RedisModelRegistry(redis, name), reports: new RedisReportStore(redis, name), fallbackModel: DEFAULT_MODEL,
      lineage: new FileLineageSink(join(dir, '_lineage')),
      datasets: {
        lake: { namespace: 'file', name: dir }, curated: { namespace: 'file', name: join(dir, '_curated') }, dimensions: { namespace: 'file', name: join(dir, '_dim') },
        labels: { namespace: 'kafka://local', name: t(TopicBase.labels) }, redis: { namespace: 'redis://local', keyPrefix: name },
      },
      now: Date.now,
      dlq: {
        dlq: new KafkaDeadLetterReader(config, logger, 60_000), republish: republisher, cursors: new RedisDlqCursors(redis, name),
        topics: { invalid: t(TopicBase.dlqInvalid), processing: t(TopicBase.dlqProcessing), late: t(TopicBase.dlqLate) },
        targets: new Set([t(TopicBase.events), t(TopicBase.eventsByUser)]), validate: contractProblem, namespace: 'kafka://local',
      },
    });
    queue = new BatchQueue({ redisUrl: config.redis.url, prefix: `${name}:bull`, queueName: 'it-dlq', jobs, attempts: 1, backoffMs: 10, logger, work: true });
  }, 120_000);

  afterAll(async () => {
    await queue?.close();
    await republisher.close();
    await producer.disconnect();
    await unlinkByPrefix(redis, name);
    await redis.quit();
    await deleteTopics(config, wanted.map((x) => x.name), logger);
    await rm(dir, { recursive: true, force: true });
  });

  /** Every record of a topic: value, key and the replay header. */
  async function records(topic: string): Promise<{ key: string | null; value: string; header: string | null }[]> {
    const out: { key: string | null; value: string; header: string | null }[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('it_dlq_read') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const admin = kafka.admin();
    await admin.connect();
    const total = (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);
    await admin.disconnect();
    await new Promise<void>((resolve) => {
      if (total === 0) return resolve();
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', header: message.headers?.['rs-replayed-from']?.toString() ?? null });
          if (out.length >= total) resolve();
        },
      });
    });
    await consumer.disconnect();
    return out;
  }

  it('replays what passes the contract now, once, to its source topic; keeps the rest; the next run starts after it', async () => {
    const first = (await queue.runNow('dlq-replay', 1_000, 60_000)) as { topics: DlqTopicResult[] };
    const [invalid, processing] = first.topics;
    expect(invalid).toMatchObject({ topic: t(TopicBase.dlqInvalid), read: 6, replayed: 1, repeats: 1, replayedTo: { [t(TopicBase.events)]: 1 } });
    expect(Object.values(invalid!.stillInvalid).reduce((a, b) => a + b, 0), JSON.stringify(invalid!.stillInvalid)).toBe(2);
    expect(Object.keys(invalid!.stillInvalid).some((r) => r.startsWith('DECODE_FAILED'))).toBe(true);
    expect(Object.keys(invalid!.stillInvalid).some((r) => r.startsWith('VALIDATION_FAILED') && r.includes('amount'))).toBe(true);
    expect(invalid!.skipped).toEqual({ 'not a dead letter': 1, 'source topic some.other.topic is not replayable': 1 });
    expect(processing).toMatchObject({ read: 2, replayed: 2, repeats: 0, replayedTo: { [t(TopicBase.eventsByUser)]: 2 } });

    const events = await records(t(TopicBase.events));
    expect(events.map((r) => JSON.parse(r.value).event_id)).toEqual(['fixed-1']);
    expect(events[0]).toMatchObject({ key: 'm1', header: expect.stringMatching(new RegExp(`^${t(TopicBase.dlqInvalid).replaceAll('.', '\\.')}:\\d+:\\d+$`)) });
    const byUser = await records(t(TopicBase.eventsByUser));
    expect(byUser.map((r) => JSON.parse(r.value).event_id).sort()).toEqual(['handler-1', 'handler-2']);

    // The cursor: a later run reads only letters written since, and replays nothing twice.
    await producer.send({ topic: t(TopicBase.dlqProcessing), messages: [letter(t(TopicBase.dlqProcessing), t(TopicBase.eventsByUser), 22, encodeEvent(event('handler-3', 1), 1).value, 'HANDLER_FAILED')] });
    const second = (await queue.runNow('dlq-replay', 2_000, 60_000)) as { topics: DlqTopicResult[] };
    expect(second.topics.map((x) => [x.read, x.replayed])).toEqual([[0, 0], [1, 1]]);
    expect((await records(t(TopicBase.eventsByUser))).map((r) => JSON.parse(r.value).event_id).sort()).toEqual(['handler-1', 'handler-2', 'handler-3']);
    expect(await new RedisReportStore(redis, name).get('dlq-replay')).toEqual(JSON.parse(JSON.stringify(second)));
  }, 120_000);

  it('refuses to replay late events, with the reason', async () => {
    await expect(queue.runNow('dlq-replay', 3_000, 30_000, { topic: 'dlq.late' })).rejects.toThrow(/late events are not replayed/);
    await expect(queue.runNow('dlq-replay', 3_000, 30_000, { topic: 'dlq.nope' })).rejects.toThrow(/unknown DLQ topic/);
  }, 60_000);
});
