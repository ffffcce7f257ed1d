/**
 * `npm run provision`: creates what riskstream needs in Kafka and Cassandra, idempotently.
 * Kafka: every topic of src/provision/topics.ts under `kafka.topicPrefix`. Cassandra: the
 * keyspace and the migrations of src/provision/cassandra/migrations/. Configured by the usual
 * RISKSTREAM_* environment (src/runtime/config.ts). Exit code 1 on any failure.
 */
import { migrate } from '../adapters/cassandra/migrate.ts';
import { ensureTopics } from '../adapters/kafka/admin.ts';
import { topics } from '../provision/topics.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.observability.logLevel, name: 'provision' });

  const started = performance.now();
  const ensured = await ensureTopics(config, topics(config.kafka.topicPrefix), { logger });
  for (const topic of ensured) {
    const state = topic.created ? 'created' : 'exists ';
    const warning = topic.partitionMismatch
      ? '  WARNING: partition count differs from src/provision/topics.ts'
      : '';
    console.log(`kafka      ${state} ${topic.name} (${topic.partitions} partitions)${warning}`);
  }

  const result = await migrate(config);
  for (const m of result.alreadyApplied)
    console.log(`cassandra  exists  ${result.keyspace} migration ${m.version} ${m.name}`);
  for (const m of result.applied)
    console.log(`cassandra  applied ${result.keyspace} migration ${m.version} ${m.name}`);
  const created = ensured.filter((t) => t.created).length;
  console.log(
    `provision: ${created} topic(s) created, ${ensured.length - created} existed; ` +
      `${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied ` +
      `(${((performance.now() - started) / 1000).toFixed(1)}s)`,
  );
}

main().catch((err: unknown) => {
  console.error('provision failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  if (err instanceof Error && 'context' in err) console.error('context:', JSON.stringify(err.context));
  process.exitCode = 1;
});
