import type { BatchingProducer } from '../adapters/kafka/producer.ts';
import { encodeLabel } from '../contract/label.ts';
import { encodeEvent } from '../contract/wire.ts';
import type { GeneratedTraffic } from '../generator/generate.ts';
import type { IngestClient } from './ingest-client.ts';

/** What a run achieved; `accepted` counts records the API (or Kafka) acknowledged. */
export interface RunReport {
  mode: 'api' | 'kafka';
  emissions: number;
  accepted: number;
  rejected: number;
  /** Requests re-sent after 429/503 (a re-send after 503 may duplicate records in Kafka). */
  retries: number;
  labelsSent: number;
  durationMs: number;
  achievedEventsPerSec: number;
  rejections: { index: number; errors: unknown }[];
}

export interface DriveOptions {
  /** Target events/s (open loop); 0 = as fast as possible. */
  readonly rate: number;
  readonly progress: (line: string) => void;
  readonly sendLabels: (records: ReturnType<typeof encodeLabel>[]) => Promise<void>;
}

/** Calls `step(due)` every few ms with how many items should have been dispatched by now. */
async function paced(
  total: number,
  rate: number,
  step: (due: number) => Promise<number>,
  progress: () => void,
): Promise<void> {
  const started = performance.now();
  let dispatched = 0;
  let lastProgress = started;
  while (dispatched < total) {
    const elapsed = (performance.now() - started) / 1000;
    const due = rate > 0 ? Math.min(total, Math.floor(elapsed * rate) + 1) : total;
    if (due > dispatched) dispatched = await step(due);
    if (performance.now() - lastProgress >= 1000) {
      lastProgress = performance.now();
      progress();
    }
    if (dispatched < due) continue;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Sends the labels whose turn has come (after `dispatched` emissions). */
function labelFeeder(traffic: GeneratedTraffic, options: DriveOptions, report: RunReport) {
  let next = 0;
  const inFlight: Promise<void>[] = [];
  return {
    feed(dispatched: number, all = false): void {
      const due: ReturnType<typeof encodeLabel>[] = [];
      while (next < traffic.labels.length && (all || traffic.labels[next]!.afterEmissions <= dispatched)) {
        due.push(encodeLabel(traffic.labels[next]!.label));
        next += 1;
      }
      if (due.length > 0) {
        report.labelsSent += due.length;
        inFlight.push(options.sendLabels(due));
      }
    },
    async done(): Promise<void> {
      this.feed(traffic.emissions.length, true);
      await Promise.all(inFlight);
    },
  };
}

function newReport(mode: 'api' | 'kafka', emissions: number): RunReport {
  return {
    mode,
    emissions,
    accepted: 0,
    rejected: 0,
    retries: 0,
    labelsSent: 0,
    durationMs: 0,
    achievedEventsPerSec: 0,
    rejections: [],
  };
}

/** Straight into payments.events: open loop at `rate`, stamped as if ingested now. */
export async function driveKafka(
  traffic: GeneratedTraffic,
  producer: BatchingProducer,
  topic: string,
  options: DriveOptions,
): Promise<RunReport> {
  const report = newReport('kafka', traffic.emissions.length);
  const labels = labelFeeder(traffic, options, report);
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  let failure: unknown;
  await paced(
    traffic.emissions.length,
    options.rate,
    async (due) => {
      if (failure !== undefined) throw failure; // stop at the first unacknowledged send
      const upTo = Math.min(due, sent + 5_000);
      const now = Date.now();
      const records = traffic.emissions.slice(sent, upTo).map((e) => encodeEvent(e.event, now));
      const count = records.length;
      const p = producer.send(topic, records).then(
        () => {
          report.accepted += count;
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
      sent = upTo;
      labels.feed(sent);
      while (inFlight.size > 200) await Promise.race(inFlight); // bounded memory if Kafka lags
      return sent;
    },
    () => options.progress(progressLine(sent, report.accepted, traffic.emissions.length, started)),
  );
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  await labels.done();
  return finish(report, started);
}

export interface ApiDriveOptions extends DriveOptions {
  readonly batchSize: number;
  readonly concurrency: number;
  readonly maxRetries: number;
  /** Called after each batch is handed out, with the number of emissions dispatched so far. */
  readonly onDispatched?: (dispatched: number) => void;
}

/** Through the HTTP batch endpoint (NDJSON), `concurrency` requests in flight. */
export async function driveApi(
  traffic: GeneratedTraffic,
  client: IngestClient,
  options: ApiDriveOptions,
): Promise<RunReport> {
  const report = newReport('api', traffic.emissions.length);
  const labels = labelFeeder(traffic, options, report);
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  await paced(
    traffic.emissions.length,
    options.rate,
    async (due) => {
      while (sent < due) {
        while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
        const from = sent;
        const slice = traffic.emissions.slice(
          from,
          Math.min(traffic.emissions.length, from + options.batchSize),
        );
        sent += slice.length;
        const p = postWithRetry(
          client,
          slice.map((e) => JSON.stringify(e.event)).join('\n'),
          from,
          report,
          options.maxRetries,
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        labels.feed(sent);
        options.onDispatched?.(sent);
      }
      return sent;
    },
    () => options.progress(progressLine(sent, report.accepted, traffic.emissions.length, started)),
  );
  await Promise.all(inFlight);
  await labels.done();
  return finish(report, started);
}

async function postWithRetry(
  client: IngestClient,
  body: string,
  offset: number,
  report: RunReport,
  maxRetries: number,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const res = await client.postBatch(body);
    if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
      report.retries += 1;
      await new Promise((r) => setTimeout(r, Math.max(100, (res.retryAfterSec ?? 0) * 1000) * (attempt + 1)));
      continue;
    }
    if (res.status !== 202 && res.status !== 207 && res.status !== 400) {
      throw new Error(`batch at emission ${offset} failed: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    }
    const parsed = JSON.parse(res.body) as {
      accepted?: number;
      results?: { index: number; status: string; errors?: unknown }[];
    };
    report.accepted += parsed.accepted ?? 0;
    for (const r of parsed.results ?? []) {
      if (r.status === 'rejected') {
        report.rejected += 1;
        if (report.rejections.length < 100)
          report.rejections.push({ index: offset + r.index, errors: r.errors });
      }
    }
    return;
  }
}

function finish(report: RunReport, started: number): RunReport {
  report.durationMs = Math.round(performance.now() - started);
  report.achievedEventsPerSec = Math.round((report.accepted / Math.max(1, report.durationMs)) * 1000);
  return report;
}

function progressLine(sent: number, acked: number, total: number, started: number): string {
  const sec = (performance.now() - started) / 1000;
  const pct = ((100 * sent) / total).toFixed(1);
  return `sent ${sent}/${total} (${pct}%) acked ${acked} rate ${Math.round(acked / Math.max(sec, 0.001))}/s elapsed ${sec.toFixed(1)}s`;
}
