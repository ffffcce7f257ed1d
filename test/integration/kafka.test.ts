import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopics, ensureTopics } from '../../src/adapters/kafka/admin.ts';
import { TopicBase, topics } from '../../src/provision/topics.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { testConfig, uniqueName } from '../support/services.ts';

const { Kafka, logLevel } = kafkajs;

// Smoke test of kafkajs 2.2.4 against the local Kafka (4.1, KRaft): topic creation through
// ensureTopics, idempotent acks=all produce, consumption in a consumer group with explicit
// offset commits, and the committed offsets as an admin sees them.
describe('Kafka on the local stack', () => {
  const prefix = `${uniqueName('it_kafka')}.`;
  const config = testConfig({ kafka: { topicPrefix: prefix } });
  const logger = silentLogger();
  const wanted = topics(prefix).filter((t) => t.base === TopicBase.events || t.base === TopicBase.dlqLate);
  const topic = wanted.find((t) => t.base === TopicBase.events)!.name;
  const groupId = `${prefix}group`;
  const kafka = new Kafka({
    clientId: 'it-kafka',
    brokers: [...config.kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
  });

  afterAll(async () => {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
    await deleteTopics(
      config,
      wanted.map((t) => t.name),
      logger,
    );
  });

  it('ensureTopics creates missing topics with their partition counts, then finds them', async () => {
    const first = await ensureTopics(config, wanted, { logger });
    expect(first.map((t) => [t.name, t.created, t.partitions, t.partitionMismatch])).toEqual([
      [`${prefix}payments.events`, true, 12, false],
      [`${prefix}dlq.late`, true, 3, false],
    ]);
    const second = await ensureTopics(config, wanted, { logger });
    expect(second.every((t) => !t.created && !t.partitionMismatch)).toBe(true);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe(String(7 * 24 * 3600 * 1000));
  });

  it('produces idempotently with acks=all, consumes in a group and commits offsets', async () => {
    const count = 60;
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const sent = Array.from({ length: count }, (_, i) => ({
      key: `merchant-${i % 7}`,
      value: `payment-${i}`,
    }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    const seen = new Map<string, string>();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.set(message.value!.toString(), message.key!.toString());
          const next = (BigInt(message.offset) + 1n).toString();
          await consumer.commitOffsets([{ topic, partition, offset: next }]);
          if (seen.size === count) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect([...seen.entries()].sort()).toEqual(sent.map((m) => [m.value, m.key]).sort());
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const endOf = new Map(ends.map((e) => [e.partition, e.high]));
    const partitions = committed[0]!.partitions;
    expect(partitions).toHaveLength(12);
    for (const p of partitions) {
      // Partitions that got no record have no commit (-1) and an end offset of 0.
      expect(p.offset === '-1' ? '0' : p.offset).toBe(endOf.get(p.partition));
    }
    expect(partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)).toBe(count);
  });
});
