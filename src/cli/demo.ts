/**
 * The main job (README's first command runs it after the stack is up and provisioned):
 * starts the API, two merchant workers and two user workers, the history writer, the bronze
 * archiver and the batch process (BullMQ jobs and their dashboard), drives synthetic traffic
 * through the ingest API at a moderate rate, and prints a live summary until Ctrl-C (or
 * --duration-s), then stops everything it started.
 *
 *   npx tsx src/cli/demo.ts [--rate 300] [--workers 2] [--duration-s 0 (until Ctrl-C)]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureTopics } from '../adapters/kafka/admin.ts';
import { KafkaProgress } from '../adapters/kafka/progress.ts';
import { connectRedis } from '../adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../adapters/redis/api-key-store.ts';
import { RedisReportStore } from '../adapters/redis/batch-reports.ts';
import { RedisGraphStore } from '../adapters/redis/graph-store.ts';
import { RedisModelRegistry } from '../adapters/redis/model-registry.ts';
import { RedisStateStore } from '../adapters/redis/state-store.ts';
import { newApiKey } from '../api/ingest/auth.ts';
import { fullTopicName, TopicBase, topics } from '../provision/topics.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    workers: { type: 'string', default: '2' },
    'duration-s': { type: 'string', default: '0' },
  },
});
// Each demo run gets its own topics and state (a fresh event-time history), so its traffic,
// which starts a day in the past, is never late against an earlier run's watermarks.
const runId = `demo${Date.now().toString(36)}`;
const dashboardPassword = randomBytes(9).toString('base64url');
const runEnv = {
  RISKSTREAM_KAFKA_TOPIC_PREFIX: `${runId}.`, RISKSTREAM_REDIS_KEY_PREFIX: runId, RISKSTREAM_BRONZE_DIR: `.stack/tmp/demo-lake/${runId}`,
  RISKSTREAM_BRONZE_GROUP_ID: `${runId}.riskstream-bronze`, RISKSTREAM_BATCH_LINEAGE_DIR: `.stack/tmp/demo-lake/${runId}-lineage`,
  RISKSTREAM_BATCH_CURATED_DIR: `.stack/tmp/demo-lake/${runId}-curated`, RISKSTREAM_BATCH_DIMENSIONS_DIR: `.stack/tmp/demo-lake/${runId}-dim`,
  // Demo event time is weeks behind the wall clock: each curate run rebuilds the whole month.
  RISKSTREAM_BATCH_CURATE_EVERY_MS: '120000', RISKSTREAM_BATCH_CURATE_REBUILD_DAYS: '32',
  // The batch jobs on a demo's pace: event time runs ~18 h per wall-clock minute from 30 days ago.
  RISKSTREAM_BATCH_GRAPH_REBUILD_EVERY_MS: '60000', RISKSTREAM_BATCH_QUALITY_EVERY_MS: '60000',
  RISKSTREAM_BATCH_ANOMALIES_EVERY_MS: '300000', RISKSTREAM_BATCH_RETRAIN_EVERY_MS: '300000',
  RISKSTREAM_BATCH_GRAPH_LOOKBACK_MS: String(31 * 86_400_000), RISKSTREAM_BATCH_QUALITY_LOOKBACK_MS: String(31 * 86_400_000),
  RISKSTREAM_BATCH_DASHBOARD_PASSWORD: dashboardPassword,
};
Object.assign(process.env, runEnv);
const config = loadConfig(process.env);
const logger = createLogger({ name: 'demo', level: 'warn' });
const rate = Number(values.rate);
const workers = Number(values.workers);
const durationS = Number(values['duration-s']);
const logDir = '.stack/logs/demo';
mkdirSync(logDir, { recursive: true });
const children: { name: string; proc: ChildProcess }[] = [];

function start(name: string, args: string[], env: Record<string, string> = {}): void {
  const out = openSync(`${logDir}/${name}.log`, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  proc.on('exit', (code, signal) => {
    if (!stopping) console.error(`\n${name} exited (code ${code}, signal ${signal}); see ${logDir}/${name}.log`);
  });
  children.push({ name, proc });
}

let stopping = false;
async function stopAll(): Promise<void> {
  stopping = true;
  // Generator first (no new input), then workers drain, API last. The run's topics and keys
  // stay for inspection; `npm run stack -- reset` clears everything.
  for (const { proc } of [...children].reverse()) proc.kill('SIGTERM');
  await Promise.all(children.map(({ proc }) => new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve())))));
}

async function createKey(): Promise<string> {
  const redis = connectRedis(config.redis.url);
  const k = newApiKey();
  await new RedisApiKeyStore(redis, config.redis.keyPrefix).put(k.hash, {
    keyId: k.keyId, name: 'demo', scopes: ['ingest', 'read'], createdMs: Date.now(), rateLimitPerSec: Math.max(1_000, rate * 4),
  });
  await redis.quit();
  return k.key;
}

async function waitForApi(): Promise<void> {
  const url = `http://${config.api.host}:${config.api.port}/readyz`;
  for (let i = 0; i < 120; i += 1) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`API not ready at ${url}; see ${logDir}/api.log`);
}

await ensureTopics(config, topics(config.kafka.topicPrefix), { logger });
const key = await createKey();
start('api', ['src/cli/api.ts']);
// Each worker's name is its kafka.instanceId, as a pod's is: a worker left dead by an earlier run
// that was killed is removed from its group when its successor starts, not after its session.
const worker = (name: string, pipeline: string, port: number) =>
  start(name, ['src/cli/worker.ts', '--pipeline', pipeline], { RISKSTREAM_OBSERVABILITY_METRICS_PORT: String(port), RISKSTREAM_KAFKA_INSTANCE_ID: name });
for (let i = 0; i < workers; i += 1) {
  worker(`worker-merchant-${i}`, 'merchant', 9464 + i);
  worker(`worker-user-${i}`, 'user', 9464 + workers + i);
}
// One history writer (risk.scores → Cassandra): it batches up to 250 ms of scores.
worker('worker-history', 'history', 9464 + 2 * workers);
// The lake and the batch layer: every accepted event to bronze Parquet, and the jobs that read it.
start('archiver', ['src/cli/archiver.ts'], { RISKSTREAM_OBSERVABILITY_METRICS_PORT: String(9464 + 2 * workers + 1) });
start('batch', ['src/cli/batch.ts'], { RISKSTREAM_OBSERVABILITY_METRICS_PORT: String(9464 + 2 * workers + 2) });
await waitForApi();
// Traffic has the density the default model was trained on (about 1,000 events per event-time
// hour), so event time runs far ahead of the wall clock: windows close and hours roll over
// while you watch. It starts 30 days in the past; each three-minute round continues where the
// previous one ended (the API refuses event times in the future, so a run lasts up to ~40 min).
const EVENT_HOUR_MS = 3_600_000;
const eventsPerRound = rate * 180;
const hoursPerRound = Math.max(1, Math.round(eventsPerRound / 1_000));
const firstHour = Math.floor((Date.now() - 30 * 24 * EVENT_HOUR_MS) / EVENT_HOUR_MS) * EVENT_HOUR_MS;
function generatorRound(round: number): void {
  start(`generator-${round}`, [
    'src/cli/generate.ts', '--mode', 'api', '--events', String(eventsPerRound), '--rate', String(rate),
    '--period-hours', String(hoursPerRound), '--start', new Date(firstHour + round * hoursPerRound * EVENT_HOUR_MS).toISOString(),
    // Each round is a new population: its own user and device ids, so rounds never merge people.
    '--seed', String(round + 1), '--entity-prefix', `r${round + 1}`, '--key', key, '--truth', `${logDir}/truth-${round}.jsonl`,
    // The round's merchants, users and FX rates, as master-data exports for the curated layer.
    '--dimensions', config.batch.dimensionsDir,
  ]);
  children[children.length - 1]!.proc.once('exit', (code) => {
    if (!stopping && code === 0) generatorRound(round + 1);
  });
}
generatorRound(0);

const progress = new KafkaProgress(config.kafka.brokers, logger);
await progress.connect();
const t = (base: string) => fullTopicName(config.kafka.topicPrefix, base);
const group = (pipeline: string) => `${config.kafka.topicPrefix}riskstream.${pipeline}`;
let previous = { events: await progress.total(t(TopicBase.events)), at: Date.now() };
const started = Date.now();
console.log(`riskstream demo: API http://${config.api.host}:${config.api.port}, ${workers} merchant + ${workers} user workers + 1 history writer, ${rate} events/s. Ctrl-C stops.`);
console.log(`queue dashboard: http://${config.batch.dashboardHost}:${config.batch.dashboardPort}/queues (user ${config.batch.dashboardUser}, password ${dashboardPassword})`);
console.log(`history SQL (after the first curate run, ~2 min): ${Object.entries(runEnv).filter(([k]) => /BRONZE_DIR|CURATED_DIR|DIMENSIONS_DIR|LINEAGE_DIR/.test(k)).map(([k, v]) => `${k}=${v}`).join(' ')} npm run sql -- "SELECT status, count(*) FROM payments GROUP BY ALL"`);
console.log(`logs: ${logDir}/*.log; live score: curl -H 'x-api-key: ${key}' http://${config.api.host}:${config.api.port}/v1/users/<user_id>/risk`);

const counted = {
  events: t(TopicBase.events), windows: t(TopicBase.merchantWindows), scores: t(TopicBase.scores), alerts: t(TopicBase.riskAlerts),
  merchantAlerts: t(TopicBase.merchantAlerts), late: t(TopicBase.dlqLate), invalid: t(TopicBase.dlqInvalid), failed: t(TopicBase.dlqProcessing),
};
type Counts = Record<keyof typeof counted, number>;
async function totals(): Promise<Counts> {
  const entries = await Promise.all(Object.entries(counted).map(async ([k, topic]) => [k, await progress.total(topic)] as const));
  return Object.fromEntries(entries) as Counts;
}
// Counts are shown since the demo started: the topics may hold earlier runs' records.
const baseline = await totals();

// Lag from the workers' durable positions (Redis), which move with every commit; the offsets
// committed to Kafka trail them by up to the source's commit interval (2 s).
const positions = new RedisStateStore({ redis: config.redis.url, keyPrefix: config.redis.keyPrefix });
async function lag(groupId: string, topic: string): Promise<number> {
  const high = await progress.highWatermarks(topic);
  const refs = [...high.keys()].map((partition) => ({ group: groupId, topic, partition }));
  const stored = await positions.positions(refs);
  return refs.reduce((sum, ref, i) => sum + (high.get(ref.partition) ?? 0) - Number(stored[i]?.nextOffset ?? 0), 0);
}

// The batch layer's latest results, from the keys its jobs write.
const batchRedis = connectRedis(config.redis.url);
const reports = new RedisReportStore(batchRedis, config.redis.keyPrefix);
const graphs = new RedisGraphStore(batchRedis, config.redis.keyPrefix);
const models = new RedisModelRegistry(batchRedis, config.redis.keyPrefix);
async function batchLine(): Promise<string> {
  const [quality, snapshot, model, curated] = await Promise.all([reports.get('quality-check'), graphs.currentId(), models.currentVersion(), reports.get('curate')]);
  const meta = snapshot === null ? null : await graphs.meta(snapshot);
  const q = typeof quality?.score === 'number' ? quality.score.toFixed(1) : '-';
  return `batch: quality ${q}, graph ${meta ? `${meta.usersWithContext} shared-device users, ${meta.ringUsers} in rings` : '-'}, model ${model ?? 'default'}, curated ${curated ? `snapshot ${curated.snapshot} (${(curated.dates as unknown[]).length} days)` : '-'}`;
}

async function summary(): Promise<string> {
  const [now, lagM, lagU, lagH, batch] = await Promise.all([
    totals(), lag(group('merchant'), t(TopicBase.events)), lag(group('user'), t(TopicBase.eventsByUser)),
    lag(group('history'), t(TopicBase.scores)), batchLine(),
  ]);
  const d = (k: keyof Counts) => now[k] - baseline[k];
  const at = Date.now();
  const perSecond = ((now.events - previous.events) * 1000) / Math.max(1, at - previous.at);
  previous = { events: now.events, at };
  return [
    `${Math.round((at - started) / 1000)}s`, `events ${d('events')} (${perSecond.toFixed(0)}/s)`, `lag m=${lagM} u=${lagU} h=${lagH}`,
    `windows closed ${d('windows')}`, `scores ${d('scores')}`, `alerts ${d('alerts')} user, ${d('merchantAlerts')} merchant`,
    `dlq late=${d('late')} invalid=${d('invalid')} failed=${d('failed')}`, batch,
  ].join(' | ');
}

let done = false;
const finish = async () => {
  if (done) return;
  done = true;
  console.log('\nstopping…');
  await stopAll();
  await progress.disconnect();
  await positions.close();
  batchRedis.disconnect();
  console.log('stopped everything the demo started (the stack keeps running: npm run stack -- down)');
  process.exit(0);
};
process.on('SIGINT', () => void finish());
process.on('SIGTERM', () => void finish());
while (!done) {
  await new Promise((r) => setTimeout(r, 2_000));
  if (done) break;
  const line = await summary().catch((err: unknown) => `summary unavailable: ${(err as Error).message}`);
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
  else console.log(line);
  if (durationS > 0 && Date.now() - started >= durationS * 1000) await finish();
}
