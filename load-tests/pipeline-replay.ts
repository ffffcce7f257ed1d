/**
 * Measurement 1 of the pipeline benchmark: replay throughput of the full pipeline.
 *
 * payments.events is pre-filled with generated traffic (the generator's defaults: 1% duplicates,
 * 2% out of order, 0.2% late), then one merchant worker and one user worker start as child
 * processes and read it from the beginning. The run is over when the merchant pipeline's stored
 * next offsets (Redis, the durable position) reach the high watermarks with its outbox drained
 * (every re-keyed record produced), and then the user pipeline's reach the by-user high
 * watermarks with its outbox drained (every score in Redis, Cassandra and risk.scores).
 *
 * The rate counts from the first durable merchant commit (process start-up and group joins
 * excluded, as in bench:runtime) to that moment; the rate including start-up is reported too.
 */
import { prefill, rawConsume } from '../src/adapters/kafka/bench-tools.ts';
import { encodeEvent } from '../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import { TopicBase } from '../src/provision/topics.ts';
import type { Logger } from '../src/runtime/logger.ts';
import { type CpuReport, cpuSample, microsPerEvent, stackPids } from './pipeline-machine.ts';
import { BenchWorld, type Durable, type PipelineName, processed } from './pipeline-world.ts';

export interface ReplayOptions {
  readonly events: number;
  /** Event-time span of the generated traffic (the generator's default: 48 h). */
  readonly periodHours: number;
  readonly seed: string;
  readonly concurrency: number;
  readonly execArgv: readonly string[];
  readonly timeoutMs: number;
}

export interface StageRate {
  readonly records: number;
  /** From the stage's first durable commit to its last record processed with effects performed. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

export interface ReplayResult {
  /** Records in payments.events (generated events plus their duplicates). */
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly seconds: number;
  /** Same end point, counted from the spawn of the worker processes. */
  readonly eventsPerSecondInclStartup: number;
  readonly startupSeconds: number;
  readonly merchant: StageRate;
  readonly user: StageRate;
  /** Largest number of records the user stage trailed the merchant stage by (sampled). */
  readonly maxUserBacklog: number;
  readonly counts: {
    readonly byUser: number; readonly scores: number; readonly alerts: number; readonly windows: number;
    readonly dlqLate: number; readonly dlqInvalid: number; readonly dlqProcessing: number;
  };
  /** Every accepted event scored exactly once on risk.scores. */
  readonly scoresMatchByUser: boolean;
  readonly prefillSeconds: number;
  readonly generateSeconds: number;
  /** A kafkajs consumer that only counts, same topic, for scale (bench process, same run). */
  readonly rawConsumeEventsPerSecond: number;
  /** Cumulative durable records per stage, about once a second from the first commit. */
  readonly progress: { readonly t: number; readonly merchant: number; readonly user: number }[];
  readonly cpu: CpuReport;
  /** CPU per record of payments.events, per process (Cassandra, Redis, Kafka include others' load). */
  readonly cpuMicrosPerEvent: Record<string, number>;
  readonly workerConcurrency: number;
  readonly periodHours: number;
  /** Merchants in the generated traffic (with periodHours: the traffic's event-time density). */
  readonly merchants: number;
  /** Generated records per second of event time. */
  readonly eventsPerEventTimeSecond: number;
  /** Final merchant windows per record: the traffic's sparsity decides it (each one is a Cassandra row and a Kafka record). */
  readonly windowsPerEvent: number;
}

/** A stable partition per merchant (any fixed hash will do: one merchant → one partition). */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

async function fill(world: BenchWorld, options: ReplayOptions, logger: Logger) {
  const t0 = performance.now();
  const traffic = generateTraffic(generatorOptions({ seed: options.seed, events: options.events, periodMs: options.periodHours * 3_600_000, allowedLatenessMs: world.config.runtime.allowedLatenessMs }));
  const now = Date.now();
  const records = traffic.emissions.map((e) => encodeEvent(e.event, now));
  const generateSeconds = (performance.now() - t0) / 1000;
  const kafka = { brokers: world.config.kafka.brokers, clientId: `${world.id}-prefill`, logger };
  const t1 = performance.now();
  const topic = world.topic(TopicBase.events);
  const partitions = (await world.highs('merchant')).length;
  // One request in flight: parallel requests may land out of order, and a partition's order is
  // its event-time order (records behind the watermark would be dead-lettered as late). 2,000
  // records (~0.4 MB) per request stay under Kafka's 1 MiB per partition even when a merchant's
  // burst puts them all on one partition.
  await prefill(kafka, {
    topic, events: records.length, batchRecords: 2_000, inFlight: 1,
    record: (i) => {
      const r = records[i]!;
      return { key: r.key, value: r.value, partition: partitionOf(r.key, partitions) };
    },
  });
  const prefillSeconds = (performance.now() - t1) / 1000;
  const raw = await rawConsume(kafka, {
    topic, groupId: world.readerGroup('raw'), expected: records.length, partitionsConsumedConcurrently: options.concurrency,
    maxBytesPerPartition: 1024 * 1024, timeoutMs: 120_000,
  });
  return { records: records.length, merchants: traffic.options.merchants, generateSeconds, prefillSeconds, rawEventsPerSecond: raw.events / ((raw.doneAtMs - raw.firstAtMs) / 1000) };
}

const rate = (records: number, ms: number): StageRate => ({ records, seconds: round(ms / 1000), eventsPerSecond: Math.round(records / (ms / 1000)) });
const round = (x: number) => Math.round(x * 100) / 100;

export async function runReplay(world: BenchWorld, options: ReplayOptions, logger: Logger, say: (line: string) => void): Promise<ReplayResult> {
  await world.setUp();
  say(`  generating and pre-filling ${options.events.toLocaleString('en')} events...`);
  const filled = await fill(world, options, logger);
  const eventHighs = await world.highs('merchant');
  say(`  ${filled.records.toLocaleString('en')} records in ${filled.prefillSeconds.toFixed(1)} s; starting a merchant and a user worker (--concurrency ${options.concurrency})`);
  const spawnAt = performance.now();
  const merchantWorker = world.startWorker('merchant', options.concurrency, options.execArgv);
  const userWorker = world.startWorker('user', options.concurrency, options.execArgv);
  const historyWorker = world.startWorker('history', options.concurrency, options.execArgv);
  const first: Partial<Record<PipelineName, number>> = {};
  let merchantDoneAt: number | undefined;
  let cpu: ReturnType<typeof cpuSample> | undefined;
  let maxUserBacklog = 0;
  let lastProgressAt = Number.NEGATIVE_INFINITY;
  const progress: ReplayResult['progress'] = [];
  const onPoll = (d: Record<PipelineName, Durable>) => {
    const now = performance.now();
    const m = processed(d.merchant);
    const u = processed(d.user);
    if (first.merchant === undefined && m > 0) {
      first.merchant = now;
      cpu = cpuSample({ 'worker-merchant': merchantWorker.pid, 'worker-user': userWorker.pid, 'worker-history': historyWorker.pid, ...stackPids() });
    }
    if (first.user === undefined && u > 0) first.user = now;
    if (merchantDoneAt === undefined && BenchWorld.caughtUp(d.merchant, eventHighs)) merchantDoneAt = now;
    if (first.merchant !== undefined) maxUserBacklog = Math.max(maxUserBacklog, Math.min(m, filled.records) - u);
    if (first.merchant !== undefined && now - lastProgressAt >= 1_000) {
      lastProgressAt = now;
      progress.push({ t: round((now - first.merchant) / 1000), merchant: m, user: u });
      say(`  ${progress.at(-1)!.t.toFixed(0).padStart(4)} s  merchant ${m.toLocaleString('en').padStart(9)}  user ${u.toLocaleString('en').padStart(9)}`);
    }
  };
  const userHighs = await world.waitScored(eventHighs, options.timeoutMs, onPoll);
  const doneAt = performance.now();
  const userRecords = userHighs.reduce((a, b) => a + b, 0);
  progress.push({ t: round((doneAt - first.merchant!) / 1000), merchant: filled.records, user: userRecords });
  say(`  ${progress.at(-1)!.t.toFixed(1).padStart(4)} s  every event scored`);
  const cpuReport = cpu!.stop();
  const [byUser, scores, alerts, windows, dlqLate, dlqInvalid, dlqProcessing] = await Promise.all(
    [TopicBase.eventsByUser, TopicBase.scores, TopicBase.riskAlerts, TopicBase.merchantWindows, TopicBase.dlqLate, TopicBase.dlqInvalid, TopicBase.dlqProcessing].map(async (t) =>
      (await world.topicHighs(t)).reduce((a, b) => a + b, 0),
    ),
  );
  await world.stopChildren(); // with --cpu-prof the workers write their profiles on exit
  const seconds = (doneAt - first.merchant!) / 1000;
  return {
    events: filled.records, eventsPerSecond: Math.round(filled.records / seconds), seconds: round(seconds),
    eventsPerSecondInclStartup: Math.round(filled.records / ((doneAt - spawnAt) / 1000)), startupSeconds: round((first.merchant! - spawnAt) / 1000),
    merchant: rate(filled.records, merchantDoneAt! - first.merchant!), user: rate(userRecords, doneAt - (first.user ?? first.merchant!)),
    maxUserBacklog, counts: { byUser: byUser!, scores: scores!, alerts: alerts!, windows: windows!, dlqLate: dlqLate!, dlqInvalid: dlqInvalid!, dlqProcessing: dlqProcessing! },
    scoresMatchByUser: scores === byUser, prefillSeconds: round(filled.prefillSeconds), generateSeconds: round(filled.generateSeconds),
    rawConsumeEventsPerSecond: Math.round(filled.rawEventsPerSecond), progress, cpu: cpuReport, cpuMicrosPerEvent: microsPerEvent(cpuReport, filled.records), workerConcurrency: options.concurrency,
    periodHours: options.periodHours, merchants: filled.merchants, eventsPerEventTimeSecond: round(filled.records / (options.periodHours * 3600)),
    windowsPerEvent: round(windows! / filled.records),
  };
}
