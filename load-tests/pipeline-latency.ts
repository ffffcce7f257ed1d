/**
 * Measurement 2 of the pipeline benchmark: ingest → score visible through the lookup API, open
 * loop, with the API, a merchant worker and a user worker running as child processes.
 *
 * Generated events (duplicates and late ones left out: they are never scored by design), each
 * with a unique event_id and its event time stamped with its scheduled send time, are POSTed to
 * /v1/events/batch in small batches at fixed times. A sample of the events (every
 * `sampleEvery`-th) is followed to visibility: the benchmark tails risk.scores (the user worker
 * emits it in the same outbox drain as the live score in Redis) and, when a sampled event's
 * score appears there, GETs /v1/scores/:eventId until it answers 200. Latency = that 200's
 * arrival − the event's scheduled send time: an upper bound of "visible", which includes the
 * tail's delivery and one lookup round trip; polling every sampled event blindly would cost the
 * API far more requests for the same resolution.
 */
import { readTopic } from '../src/adapters/kafka/reader.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { GeneratedEvent } from '../src/generator/types.ts';
import { TopicBase } from '../src/provision/topics.ts';
import type { Logger } from '../src/runtime/logger.ts';
import { IngestClient } from '../src/cli/ingest-client.ts';
import { type LatencySummary, LookupClient, openLoop, summarize } from './pipeline-http.ts';
import { type CpuReport, cpuSample, microsPerEvent, stackPids } from './pipeline-machine.ts';
import { freePort, httpOk, waitFor } from './processes.ts';
import type { BenchWorld } from './pipeline-world.ts';

export interface LatencyOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** How long to wait after the last send for every sampled score to be visible. */
  readonly drainTimeoutMs: number;
  readonly batch: number;
  readonly sampleEvery: number;
  readonly seed: string;
  readonly concurrency: number;
  readonly execArgv: readonly string[];
}

export interface LatencyResult {
  readonly targetEventsPerSecond: number;
  readonly achievedEventsPerSecond: number;
  readonly events: number;
  readonly requests: number;
  readonly batch: number;
  readonly ingestErrors: number;
  readonly sampled: number;
  /** Sampled events not visible `drainTimeoutMs` after the last send; counted in `visible` with the time waited. */
  readonly missing: number;
  /** From the last send until every sampled score was visible (≈ 0 when the pipeline kept up). */
  readonly drainSeconds: number;
  /** Scheduled send → 200 from GET /v1/scores/:eventId (the measurement; lower bounds for missing samples). */
  readonly visible: LatencySummary;
  /** Scheduled send → the score seen on risk.scores by the benchmark's tail. */
  readonly emitted: LatencySummary;
  /** Scheduled send → 202 from the ingest API (per request). */
  readonly ingest: LatencySummary;
  /** Lookups answered 404 before the 200 (the live score lagged the risk.scores record). */
  readonly lookupRetries: number;
  readonly maxDispatchLagMs: number;
  readonly cpu: CpuReport;
  /** CPU per event from the first measured send until every sampled score was visible, per process. */
  readonly cpuMicrosPerEvent: Record<string, number>;
  readonly workerConcurrency: number;
}

export interface LatencyRun {
  readonly result: LatencyResult;
  /** Latest risk.scores value per user seen during the run (seeds the lookup measurement). */
  readonly latestByUser: Map<string, string>;
}

const EVENT_ID_AT = '{"event_id":"'.length;
/** Events kept aside to nudge the score tail into stopping (see `stopTail`). */
const SENTINELS = 100;

/**
 * Unique, non-late, non-duplicate generated events: what the pipeline scores one for one. The
 * generator's default 2-day period keeps its planted patterns' proportions; event times are
 * replaced by send times anyway.
 */
function trafficEvents(seed: string, count: number): GeneratedEvent[] {
  const traffic = generateTraffic(generatorOptions({ seed, events: Math.ceil(count * 1.03) + 200 }));
  const out = traffic.emissions.filter((e) => e.truth.duplicate_of === null && !e.truth.late).map((e) => e.event);
  if (out.length < count) throw new Error(`generator gave ${out.length} usable events, need ${count}`);
  return out.slice(0, count);
}

export async function runLatency(world: BenchWorld, options: LatencyOptions, logger: Logger, say: (line: string) => void): Promise<LatencyRun> {
  await world.setUp();
  const key = await world.apiKey();
  const port = await freePort();
  const api = world.startApi(port, options.execArgv);
  const workers = { merchant: world.startWorker('merchant', options.concurrency, options.execArgv), user: world.startWorker('user', options.concurrency, options.execArgv) };
  const baseUrl = `http://127.0.0.1:${port}`;
  const warmupCount = Math.round(options.rate * options.warmupSeconds);
  const count = Math.round(options.rate * options.seconds);
  const events = trafficEvents(options.seed, warmupCount + count + SENTINELS);
  await waitFor('api ready', () => httpOk(`${baseUrl}/readyz`), 60_000);
  const ingest = new IngestClient({ baseUrl, apiKey: key, maxSockets: 1024 });
  const lookup = new LookupClient(baseUrl, key);

  // Scheduled send time (performance.now() base) of each sampled event still awaited.
  const awaited = new Map<string, number>();
  const visible: number[] = [];
  const emitted: number[] = [];
  const confirms: Promise<void>[] = [];
  const latestByUser = new Map<string, string>();
  let lookupRetries = 0;
  let sendingDone = false;
  let stopTail = false;
  let scoresSeen = 0;
  let sampledTotal = 0;
  const confirm = async (eventId: string, scheduled: number) => {
    for (let attempt = 0; attempt < 2_000; attempt += 1) {
      const res = await lookup.get(`/v1/scores/${eventId}`);
      if (res.status === 200) {
        visible.push(performance.now() - scheduled);
        return;
      }
      lookupRetries += 1;
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const tail = readTopic(world.config, {
    topic: world.topic(TopicBase.scores), groupId: world.readerGroup('scores-tail'), logger,
    from: new Map(Array.from({ length: 12 }, (_, p) => [p, '0'])),
    timeoutMs: (options.warmupSeconds + options.seconds) * 1000 + options.drainTimeoutMs + 300_000,
    onRecord: (record) => {
      scoresSeen += 1;
      const value = record.value?.toString('utf8') ?? '';
      if (record.key !== null) latestByUser.set(record.key, value);
      const eventId = value.slice(EVENT_ID_AT, value.indexOf('"', EVENT_ID_AT));
      const scheduled = awaited.get(eventId);
      if (scheduled !== undefined) {
        awaited.delete(eventId);
        emitted.push(performance.now() - scheduled);
        confirms.push(confirm(eventId, scheduled));
      }
      return stopTail || (sendingDone && awaited.size === 0);
    },
  });
  let tailDone = false;
  void tail.then(
    () => (tailDone = true),
    (err: unknown) => {
      tailDone = true;
      logger.warn({ err }, 'score tail ended with an error');
    },
  );

  const timeOrigin = performance.timeOrigin;
  const ingestLatency: number[] = [];
  let ingestErrors = 0;
  const send = (from: number, measured: boolean) => async (i: number, scheduled: number) => {
    const batch = events.slice(from + i * options.batch, from + (i + 1) * options.batch);
    const ts = Math.floor(timeOrigin + scheduled);
    const body = batch.map((e) => JSON.stringify({ ...e, ts_ms: ts })).join('\n');
    const sampled = measured ? batch.filter((_, j) => (i * options.batch + j) % options.sampleEvery === 0) : [];
    for (const e of sampled) awaited.set(e.event_id, scheduled);
    sampledTotal += sampled.length;
    const res = await ingest.postBatch(body).catch(() => ({ status: 0 }));
    if (res.status === 202) {
      if (measured) ingestLatency.push(performance.now() - scheduled);
      return;
    }
    ingestErrors += 1;
    sampledTotal -= sampled.length;
    for (const e of sampled) awaited.delete(e.event_id);
  };
  const interval = (options.batch * 1000) / options.rate;

  say(`  warm-up: ${warmupCount.toLocaleString('en')} events at ${options.rate}/s, then until all are scored`);
  await openLoop(Math.ceil(warmupCount / options.batch), interval, send(0, false));
  await world.waitScored(await world.highs('merchant'), 180_000);
  await waitFor('score tail caught up', async () => scoresSeen >= warmupCount, 60_000, 50);

  say(`  measuring: ${count.toLocaleString('en')} events at ${options.rate}/s in batches of ${options.batch}, every ${options.sampleEvery}th followed to visibility`);
  const cpu = cpuSample({ api: api.pid, 'worker-merchant': workers.merchant.pid, 'worker-user': workers.user.pid, ...stackPids() });
  const requests = Math.ceil(count / options.batch);
  const loop = await openLoop(requests, interval, send(warmupCount, true));
  sendingDone = true;
  // A pipeline that fell behind is waited for (bounded): the latest samples are the slowest.
  const sendsEndedAt = performance.now();
  const deadline = sendsEndedAt + options.drainTimeoutMs;
  let reportedAt = sendsEndedAt;
  while (awaited.size > 0 && performance.now() < deadline && !tailDone) {
    if (performance.now() - reportedAt >= 10_000) {
      reportedAt = performance.now();
      say(`  sends done ${Math.round((reportedAt - sendsEndedAt) / 1000)} s ago; ${awaited.size.toLocaleString('en')} sampled scores not visible yet`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const drainSeconds = (performance.now() - sendsEndedAt) / 1000;
  const cpuReport = cpu.stop();
  // Samples never seen count with the time waited for them: the percentiles are then lower bounds.
  const missing = awaited.size;
  const gaveUpAt = performance.now();
  for (const scheduled of awaited.values()) visible.push(gaveUpAt - scheduled);
  awaited.clear();
  // The tail stops at the record that completes the sample. If that record came before
  // sendingDone was set, or some never come, unmeasured sentinel events give it one more record.
  for (let s = 0; !tailDone; ) {
    stopTail = true;
    const e = events[warmupCount + count + (s++ % SENTINELS)]!;
    await ingest.postEvent(JSON.stringify({ ...e, event_id: `${e.event_id}-s${s}`, ts_ms: Date.now() })).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(confirms);
  ingest.close();
  lookup.close();
  await world.stopChildren(); // with --cpu-prof the workers write their profiles on exit
  const result: LatencyResult = {
    targetEventsPerSecond: options.rate, achievedEventsPerSecond: Math.round(count / (loop.durationMs / 1000)), events: count, requests,
    batch: options.batch, ingestErrors, sampled: sampledTotal, missing, drainSeconds: Math.round(drainSeconds * 100) / 100, visible: summarize(visible), emitted: summarize(emitted), ingest: summarize(ingestLatency),
    lookupRetries, maxDispatchLagMs: Math.round(loop.maxDispatchLagMs * 100) / 100, cpu: cpuReport, cpuMicrosPerEvent: microsPerEvent(cpuReport, count), workerConcurrency: options.concurrency,
  };
  return { result, latestByUser };
}
