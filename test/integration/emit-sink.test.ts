import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { KafkaEmitSink } from '../../src/adapters/kafka/emit-sink.ts';
import { TopicBase, topics } from '../../src/provision/topics.ts';
import type { OutputEffect } from '../../src/runtime/actor.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { testConfig, uniqueName } from '../support/services.ts';

const { Kafka, logLevel } = kafkajs;

/**
 * One outbox drain can hold far more than Kafka takes in one record batch (1 MiB per partition
 * by default): a user worker's batch of 10,000 scores is ~8 MB. The sink must cut it into
 * requests; before it did, the broker answered MESSAGE_TOO_LARGE to every retry and the
 * partition stalled for good (found by the end-to-end test).
 */
describe('KafkaEmitSink on the local stack', () => {
  const prefix = `${uniqueName('it_emit')}.`;
  const config = testConfig({ kafka: { topicPrefix: prefix } });
  const logger = silentLogger();
  const wanted = topics(prefix).filter((t) => t.base === TopicBase.scores);
  const topic = wanted[0]!.name;
  const admin = new Kafka({ clientId: 'it-emit', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING }).admin();
  const sink = new KafkaEmitSink({ brokers: config.kafka.brokers, clientId: 'it-emit', topicPrefix: prefix, logger });

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(config, wanted, { logger });
  });

  afterAll(async () => {
    await sink.close();
    await admin.disconnect();
    await deleteTopics(config, [topic], logger);
  });

  it('delivers a drain of ~4 MB to one partition, cut into several requests', async () => {
    const value = 'x'.repeat(1_000);
    const effects: OutputEffect[] = Array.from({ length: 4_000 }, (_, i) => ({
      type: 'emit', topic: TopicBase.scores, key: 'one-user', value: `${i}:${value}`,
    }));
    await sink.perform(effects);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((sum, o) => sum + Number(o.high), 0)).toBe(4_000);
    expect(offsets.filter((o) => Number(o.high) > 0)).toHaveLength(1);
  });
});
