/**
 * `tsx src/cli/demo-smoke.ts [--events N]` (run by scripts/demo.sh): a smoke pipeline over the
 * local stack. Produces N synthetic payment events (default 300) to payments.events through the
 * ingest API's producer, reads them back in a consumer group, validates each against the event
 * contract and prints what arrived where. Exit code 1 if any event is missing or invalid.
 * A placeholder until the full demo (generator → API → workers → lookup) replaces it.
 */

import { endOffsets } from '../adapters/kafka/admin.ts';
import { BatchingProducer } from '../adapters/kafka/producer.ts';
import { readTopic } from '../adapters/kafka/reader.ts';
import type { PaymentEvent, PaymentStatus } from '../contract/event.ts';
import { decodeEvent, encodeEvent } from '../contract/wire.ts';
import { fullTopicName, TopicBase, topicSpec } from '../provision/topics.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';

/** Deterministic synthetic events: 20 merchants, 200 users, ~6% failed payments. */
function syntheticEvents(count: number, runId: string, startMs: number): PaymentEvent[] {
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  const statuses: PaymentStatus[] = ['captured', 'authorized', 'refunded'];
  return Array.from({ length: count }, (_, i) => ({
    event_id: `smoke-${runId}-${i}`,
    ts_ms: startMs + i * 250,
    user_id: `u-${String(Math.floor(next() * 200)).padStart(4, '0')}`,
    merchant_id: `m-${String(Math.floor(next() * 20)).padStart(3, '0')}`,
    amount: Math.round(Math.exp(2 + next() * 4) * 100) / 100,
    currency: 'EUR',
    country: next() < 0.9 ? 'FR' : 'DE',
    status: next() < 0.06 ? 'failed' : statuses[Math.floor(next() * 3)]!,
  }));
}

function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const countArg = process.argv.indexOf('--events');
  const count = countArg === -1 ? 300 : Number(process.argv[countArg + 1]);
  if (!Number.isInteger(count) || count < 1) throw new Error('--events takes a positive integer');
  const config = loadConfig(process.env);
  const logger = createLogger({ level: 'warn', name: 'demo-smoke' });
  const topic = fullTopicName(config.kafka.topicPrefix, TopicBase.events);
  const runId = Date.now().toString(36);
  const events = syntheticEvents(count, runId, Date.now() - count * 250);

  const from = await endOffsets(config, topic, logger);
  const producer = new BatchingProducer({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-demo`,
    lingerMs: 5,
    maxBatchRecords: 500,
    sendTimeoutMs: 30_000,
    logger,
  });
  const t0 = performance.now();
  await producer.connect();
  await Promise.all(events.map((event) => producer.send(topic, [encodeEvent(event, Date.now())])));
  await producer.close();
  const t1 = performance.now();
  console.log(`produced ${count} events to ${topic} in ${(t1 - t0).toFixed(0)} ms (acks=all, idempotent)`);

  const seen = new Map<string, { partition: number; event: PaymentEvent }>();
  await readTopic(config, {
    topic,
    groupId: `${config.kafka.clientId}-demo-smoke-${runId}`,
    from,
    timeoutMs: 60_000,
    logger,
    onRecord: ({ partition, value }) => {
      const event = decodeEvent(value ?? '');
      if (event.event_id.startsWith(`smoke-${runId}-`)) seen.set(event.event_id, { partition, event });
      return seen.size === count;
    },
  });
  console.log(
    `consumed ${seen.size}/${count} in a consumer group in ${(performance.now() - t1).toFixed(0)} ms, all valid`,
  );
  const received = [...seen.values()];
  console.log(
    `partitions used: ${new Set(received.map((r) => r.partition)).size} of ${topicSpec(TopicBase.events).partitions} (key merchant_id)`,
  );
  console.log(
    `by status: ${countBy(received, (r) => r.event.status)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
  );
  const top = countBy(received, (r) => r.event.merchant_id).slice(0, 3);
  console.log(`busiest merchants: ${top.map(([k, n]) => `${k} (${n})`).join(', ')}`);
  if (seen.size !== count) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('demo-smoke failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
