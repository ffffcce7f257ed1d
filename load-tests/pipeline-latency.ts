/**
 * Measurement 2 of the pipeline benchmark: ingest → score visible through the lookup API, open
 * loop, with the API, a merchant worker and a user worker running as child processes.
 *
 * Generated events (duplicates and late ones left out: they are never scored by design), each
 * with a unique event_id and its event time stamped with its scheduled send time, are POSTed to
 * /v1/events/batch in small batches at fixed times. A sample of the events (every
 * `sampleEvery`-th) is followed to visibility: the benchmark tails risk.scores (the user worker
 * emits it in the same sink call, before its commit, as the live score in Redis) and, when a sampled event's
 * score appears there, GETs /v1/scores/:eventId until it answers 200. Latency = that 200's
 * arrival − the event's scheduled send time: an upper bound of "visible", which includes the
 * tail's delivery and one lookup round trip; polling every sampled event blindly would cost the
 * API far more requests for the same resolution.
 *
 * Before the warm-up a backfill of older events puts the pipeline in its steady state, so that
 * final windows close during the measurement as they do in production (see backfill).
 */
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import type { GeneratedEvent } from '../src/generator/types.ts';
import type { Logger } from '../src/runtime/logger.ts';
import { IngestClient } from '../src/cli/ingest-client.ts';
import { type LatencySummary, LookupClient, openLoop, summarize, summarizeBySlice } from './pipeline-http.ts';
import { type CpuReport, cpuSample, microsPerEvent, stackPids } from './pipeline-machine.ts';
import { freePort, httpOk, waitFor } from './processes.ts';
import { TopicBase } from '../src/provision/topics.ts';
import { ScoreFollower } from './pipeline-score-follower.ts';
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
  /** Events of the backfill (0: none), sent before the warm-up (see backfill). */
  readonly historyEvents: number;
  /** Event-time span of the backfill, ending a minute before it is sent. */
  readonly historyMinutes: number;
}

/** The backfill that puts the pipeline in its steady state before the measurement. */
export interface HistoryResult {
  readonly events: number;
  readonly accepted: number;
  readonly eventTimeMinutes: number;
  /** From the first backfill send until all of it was scored and in Cassandra. */
  readonly seconds: number;
  /** Final windows emitted on merchant.windows between the first measured send and the end of the drain. */
  readonly windowsClosedWhileMeasuring: number;
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
  readonly history: HistoryResult;
  /** Visibility per `sliceSeconds` of scheduled send time, in order: where in the run the tail is. */
  readonly visibleBySlice: readonly (LatencySummary & { readonly fromSeconds: number })[];
  readonly sliceSeconds: number;
}

const SLICE_SECONDS = 5;

export interface LatencyRun {
  readonly result: LatencyResult;
  /** Latest risk.scores value per user seen during the run (seeds the lookup measurement). */
  readonly latestByUser: Map<string, string>;
}

/** Events kept aside to nudge the score tail into stopping (see ScoreFollower.close). */
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

/** Open-loop sends of `events[from…]` in batches; measured ones are sampled for the follower. */
class Sender {
  readonly ingestLatency: number[] = [];
  errors = 0;
  /** Events the API accepted (202), warm-up included. */
  accepted = 0;
  readonly #events: readonly GeneratedEvent[];
  readonly #client: IngestClient;
  readonly #follower: ScoreFollower;
  readonly #options: LatencyOptions;

  constructor(events: readonly GeneratedEvent[], client: IngestClient, follower: ScoreFollower, options: LatencyOptions) {
    this.#events = events;
    this.#client = client;
    this.#follower = follower;
    this.#options = options;
  }

  /** Sends `count` events from `from` at the configured rate; event times = scheduled send times. */
  run(from: number, count: number, measured: boolean) {
    const { batch, rate } = this.#options;
    return openLoop(Math.ceil(count / batch), (batch * 1000) / rate, (i, scheduled) => this.#send(from, i, scheduled, measured));
  }

  async #send(from: number, i: number, scheduled: number, measured: boolean): Promise<void> {
    const { batch: size, sampleEvery } = this.#options;
    const batch = this.#events.slice(from + i * size, from + (i + 1) * size);
    const ts = Math.floor(performance.timeOrigin + scheduled);
    const body = batch.map((e) => JSON.stringify({ ...e, ts_ms: ts })).join('\n');
    const sampled = measured ? batch.filter((_, j) => (i * size + j) % sampleEvery === 0) : [];
    for (const e of sampled) this.#follower.expect(e.event_id, scheduled);
    const res = await this.#client.postBatch(body).catch(() => ({ status: 0 }));
    if (res.status === 202) {
      this.accepted += batch.length;
      if (measured) this.ingestLatency.push(performance.now() - scheduled);
      return;
    }
    this.errors += 1;
    for (const e of sampled) this.#follower.forget(e.event_id);
  }

  /** One unmeasured event with a fresh id and the current time. */
  async nudge(n: number): Promise<void> {
    const e = this.#events[this.#events.length - 1 - (n % SENTINELS)]!;
    await this.#client.postEvent(JSON.stringify({ ...e, event_id: `${e.event_id}-s${n}`, ts_ms: Date.now() })).catch(() => undefined);
  }
}

/**
 * The steady state a long-running pipeline is in, which a short run starting from empty state
 * is not: merchant states holding panes for the whole allowed lateness, users with a history,
 * and final windows closing every minute. With event times at the send times and 20 minutes of
 * lateness, a run from empty state closes no window at all, and in production a merchant
 * worker closes a window per merchant, status and minute (each a Cassandra row and a
 * merchant.windows record, in the commit that passes the watermark).
 *
 * So the events are first sent through the API with event times spread evenly over the
 * `minutes` before now − 1 min, in time order. The warm-up then moves every watermark to about
 * its own time − lateness, closing the oldest backfilled windows; the windows ending in the
 * next minute of event time close while the measurement runs.
 */
async function backfill(ingest: IngestClient, events: readonly GeneratedEvent[], minutes: number): Promise<number> {
  const end = Date.now() - 60_000;
  const start = end - minutes * 60_000;
  const step = (end - start) / Math.max(1, events.length);
  const batch = 500;
  let accepted = 0;
  // One request at a time: each partition then receives the backfill in event-time order.
  for (let from = 0; from < events.length; from += batch) {
    const body = events.slice(from, from + batch).map((e, j) => JSON.stringify({ ...e, ts_ms: Math.floor(start + (from + j) * step) })).join('\n');
    // A broker that just started refuses the API's first produce requests (503) for a moment.
    let res = await ingest.postBatch(body);
    for (let retry = 0; res.status === 503 && retry < 60; retry += 1) {
      await new Promise((r) => setTimeout(r, 500));
      res = await ingest.postBatch(body);
    }
    if (res.status !== 202) throw new Error(`backfill: the API answered ${res.status} to a batch`);
    accepted += Math.min(batch, events.length - from);
  }
  return accepted;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Waits (bounded) until every sampled score is visible; reports progress every 10 s. */
async function drain(follower: ScoreFollower, timeoutMs: number, say: (line: string) => void): Promise<number> {
  const started = performance.now();
  let reportedAt = started;
  while (follower.awaiting > 0 && performance.now() - started < timeoutMs && !follower.done) {
    if (performance.now() - reportedAt >= 10_000) {
      reportedAt = performance.now();
      say(`  sends done ${Math.round((reportedAt - started) / 1000)} s ago; ${follower.awaiting.toLocaleString('en')} sampled scores not visible yet`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return (performance.now() - started) / 1000;
}

export async function runLatency(world: BenchWorld, options: LatencyOptions, logger: Logger, say: (line: string) => void): Promise<LatencyRun> {
  await world.setUp();
  const key = await world.apiKey();
  const port = await freePort();
  const api = world.startApi(port, options.execArgv);
  const workers = {
    merchant: world.startWorker('merchant', options.concurrency, options.execArgv), user: world.startWorker('user', options.concurrency, options.execArgv),
    history: world.startWorker('history', options.concurrency, options.execArgv),
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const warmupCount = Math.round(options.rate * options.warmupSeconds);
  const count = Math.round(options.rate * options.seconds);
  // One population for the backfill and the live events: the merchants and users measured are
  // those whose state the backfill built.
  const all = trafficEvents(options.seed, options.historyEvents + warmupCount + count + SENTINELS);
  const history = all.slice(0, options.historyEvents);
  const events = all.slice(options.historyEvents);
  await waitFor('api ready', () => httpOk(`${baseUrl}/readyz`), 60_000);
  const ingest = new IngestClient({ baseUrl, apiKey: key, maxSockets: 1024 });
  const lookup = new LookupClient(baseUrl, key);
  const follower = new ScoreFollower(world, lookup, logger, (options.warmupSeconds + options.seconds) * 1000 + options.drainTimeoutMs + 300_000);
  const sender = new Sender(events, ingest, follower, options);

  let historyAccepted = 0;
  let historySeconds = 0;
  if (history.length > 0) {
    say(`  backfill: ${history.length.toLocaleString('en')} events over ${options.historyMinutes} min of event time, then until all are scored`);
    const t0 = performance.now();
    historyAccepted = await backfill(ingest, history, options.historyMinutes);
    await world.waitScored(await world.highs('merchant'), 600_000);
    await waitFor('score tail caught up with the backfill', async () => follower.scoresSeen >= historyAccepted, 60_000, 50);
    historySeconds = (performance.now() - t0) / 1000;
  }
  say(`  warm-up: ${warmupCount.toLocaleString('en')} events at ${options.rate}/s, then until all are scored`);
  await sender.run(0, warmupCount, false);
  await world.waitScored(await world.highs('merchant'), 180_000);
  // Only accepted events get scored: on a broker that just started, the API's first produce
  // requests can fail (503, nothing accepted) until its idempotent producer is initialised.
  const warmupAccepted = sender.accepted;
  if (warmupAccepted < warmupCount) say(`  warm-up: ${(warmupCount - warmupAccepted).toLocaleString('en')} events refused by the API (503), not awaited`);
  await waitFor('score tail caught up', async () => follower.scoresSeen >= historyAccepted + warmupAccepted, 60_000, 50);
  sender.errors = 0;

  say(`  measuring: ${count.toLocaleString('en')} events at ${options.rate}/s in batches of ${options.batch}, every ${options.sampleEvery}th followed to visibility`);
  const cpu = cpuSample({
    api: api.pid, 'worker-merchant': workers.merchant.pid, 'worker-user': workers.user.pid, 'worker-history': workers.history.pid, ...stackPids(),
  });
  const windowsBefore = sum(await world.topicHighs(TopicBase.merchantWindows));
  const measuredFrom = performance.now();
  const loop = await sender.run(warmupCount, count, true);
  // A pipeline that fell behind is waited for (bounded): the latest samples are the slowest.
  const drainSeconds = await drain(follower, options.drainTimeoutMs, say);
  const cpuReport = cpu.stop();
  const windowsClosed = sum(await world.topicHighs(TopicBase.merchantWindows)) - windowsBefore;
  const missing = follower.giveUp();
  await follower.close((n) => sender.nudge(n));
  ingest.close();
  lookup.close();
  await world.stopChildren(); // with --cpu-prof the workers write their profiles on exit
  const result: LatencyResult = {
    targetEventsPerSecond: options.rate, achievedEventsPerSecond: Math.round(count / (loop.durationMs / 1000)), events: count,
    requests: Math.ceil(count / options.batch), batch: options.batch, ingestErrors: sender.errors, sampled: follower.sampled, missing,
    drainSeconds: Math.round(drainSeconds * 100) / 100, visible: summarize(follower.visible), emitted: summarize(follower.emitted),
    ingest: summarize(sender.ingestLatency), lookupRetries: follower.lookupRetries, maxDispatchLagMs: Math.round(loop.maxDispatchLagMs * 100) / 100,
    cpu: cpuReport, cpuMicrosPerEvent: microsPerEvent(cpuReport, count), workerConcurrency: options.concurrency,
    visibleBySlice: summarizeBySlice(follower.timeline, measuredFrom, SLICE_SECONDS * 1000), sliceSeconds: SLICE_SECONDS,
    history: {
      events: history.length, accepted: historyAccepted, eventTimeMinutes: options.historyMinutes,
      seconds: Math.round(historySeconds * 100) / 100, windowsClosedWhileMeasuring: windowsClosed,
    },
  };
  return { result, latestByUser: follower.latestByUser };
}
