/**
 * Synthetic traffic with ground truth (PRODUCT §7).
 *
 *   npm run generate -- --mode api   --events 200000 --seed 42 --truth truth.jsonl --key $KEY [--rate 20000]
 *   npm run generate -- --mode kafka --events 200000 --seed 42 --truth truth.jsonl --rate 20000
 *   npm run generate -- --mode none  --events 1000 --truth truth.jsonl      (truth file only)
 *
 * Options: --url (api base, default http://<api.host>:<api.port>), --batch 500, --concurrency 4,
 * --sign (HMAC-sign requests), --period-hours 48, --start 2026-01-01T00:00:00Z, --no-labels,
 * --entity-prefix r2 (user and device ids of their own, for runs that must not share people),
 * --report <file> (run summary JSON), --dimensions <dir> (the run's merchant, user and FX
 * dimension tables as Parquet, for the curated layer), --provision (create the events/labels topics if missing;
 * otherwise run `npm run provision` first). Key also from RISKSTREAM_API_KEY. Progress on stderr.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { BatchingProducer } from '../adapters/kafka/producer.ts';
import { generateTraffic, generatorOptions } from '../generator/generate.ts';
import { truthLines } from '../generator/truth.ts';
import { dimensionRows } from '../generator/dimensions.ts';
import { writeDimensions } from '../adapters/parquet/dimension-writer.ts';
import { fullTopicName, TopicBase, topics } from '../provision/topics.ts';
import { ensureTopics } from '../adapters/kafka/admin.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { driveApi, driveKafka, type RunReport } from './generate-drivers.ts';
import { IngestClient } from './ingest-client.ts';
import { writeFile } from 'node:fs/promises';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'api' },
    events: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '1' },
    rate: { type: 'string', default: '0' },
    truth: { type: 'string' },
    url: { type: 'string' },
    key: { type: 'string' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '4' },
    sign: { type: 'boolean', default: false },
    'period-hours': { type: 'string', default: '48' },
    start: { type: 'string', default: '2026-01-01T00:00:00Z' },
    'no-labels': { type: 'boolean', default: false },
    'entity-prefix': { type: 'string', default: '' },
    report: { type: 'string' },
    dimensions: { type: 'string' },
    provision: { type: 'boolean', default: false },
  },
});
const config = loadConfig(process.env);
const logger = createLogger({
  level: config.observability.logLevel === 'info' ? 'warn' : config.observability.logLevel,
  name: 'generate',
});

async function writeTruth(path: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  for (const line of lines) if (!out.write(`${line}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const traffic = generateTraffic(
    generatorOptions({
      seed: values.seed,
      events: Number(values.events),
      startMs: Date.parse(values.start),
      periodMs: Number(values['period-hours']) * 3_600_000,
      allowedLatenessMs: config.runtime.allowedLatenessMs,
      entityPrefix: values['entity-prefix'],
    }),
  );
  console.error(
    `generated ${traffic.emissions.length} emissions, ${traffic.labels.length} labels in ${Math.round(performance.now() - t0)} ms`,
  );
  if (values.truth) await writeTruth(values.truth, truthLines(traffic));
  if (values.dimensions) await writeDimensions(values.dimensions, `seed-${values.seed}${values['entity-prefix'] ? `-${values['entity-prefix']}` : ''}`, dimensionRows(traffic));
  if (values.mode === 'none') return;
  const needKafka = values.mode === 'kafka' || !values['no-labels'];
  const producer = new BatchingProducer({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-generator`,
    lingerMs: 2,
    maxBatchRecords: 10_000,
    sendTimeoutMs: 30_000,
    logger,
  });
  if (values.provision) {
    const wanted = topics(config.kafka.topicPrefix).filter(
      (t) => t.base === TopicBase.events || t.base === TopicBase.labels,
    );
    await ensureTopics(config, wanted, { logger });
  }
  if (needKafka) await producer.connect();
  const labelsTopic = fullTopicName(config.kafka.topicPrefix, TopicBase.labels);
  const common = {
    rate: Number(values.rate),
    progress: (line: string) => process.stderr.write(`\r${line}   `),
    sendLabels: values['no-labels']
      ? async () => undefined
      : (records: Parameters<typeof producer.send>[1]) => producer.send(labelsTopic, records),
  };
  let report: RunReport;
  try {
    if (values.mode === 'kafka') {
      report = await driveKafka(
        traffic,
        producer,
        fullTopicName(config.kafka.topicPrefix, TopicBase.events),
        common,
      );
    } else if (values.mode === 'api') {
      const apiKey = values.key ?? process.env.RISKSTREAM_API_KEY;
      if (!apiKey) throw new Error('--key or RISKSTREAM_API_KEY is required in api mode');
      const client = new IngestClient({
        baseUrl: values.url ?? `http://${config.api.host}:${config.api.port}`,
        apiKey,
        sign: values.sign,
      });
      report = await driveApi(traffic, client, {
        ...common,
        batchSize: Number(values.batch),
        concurrency: Number(values.concurrency),
        maxRetries: 5,
      });
      client.close();
    } else {
      throw new Error(`unknown --mode ${values.mode} (api | kafka | none)`);
    }
  } finally {
    if (needKafka) await producer.close();
  }
  process.stderr.write('\n');
  console.error(
    `${report.mode}: ${report.accepted}/${report.emissions} accepted, ${report.rejected} rejected, ${report.retries} retries, ${report.labelsSent} labels, ${report.durationMs} ms, ${report.achievedEventsPerSec} events/s`,
  );
  if (values.report) await writeFile(values.report, `${JSON.stringify(report, null, 2)}\n`);
  if (report.accepted + report.rejected !== report.emissions || report.rejected > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
