/**
 * Where the single-event phase of bench:ingest spent its time, per process: the API's own
 * request and Kafka-ack times, loop delay and GC pauses (read from its /metrics, so the API runs
 * its production code), and the same loop and GC figures for the load generator itself.
 */
import { constants, monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';

const round = (x: number) => Math.round(x * 100) / 100;

/** Event-loop delay (p99, max) and GC pauses (count, total, by kind) of one process over a phase, in ms. */
export interface LoopReport {
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly gc: Record<string, { count: number; totalMs: number }>;
}

/** What the API itself measured over a phase: its handler time (onRequest → response) and its wait for Kafka. */
export interface ApiReport extends LoopReport {
  /** Upper bucket bound (ms) holding the 99th percentile of the API's own request duration. */
  readonly handlerP99AtMostMs: number;
  /** Per cent of single requests the API itself held longer than 20 ms. */
  readonly handlerOver20MsShare: number;
  readonly kafkaSendP99AtMostMs: number;
}

/** The metric lines of the API's /metrics, keyed by name and labels. */
async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(riskstream_\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    // Labels sorted, without the process label every line carries: name{a="1",b="2"} or name.
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].filter((l) => l[1] !== 'process').map((l) => `${l[1]}="${l[2]}"`).sort();
    values.set(labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return values;
}

/** Per-bucket counts of a histogram between two scrapes: [upper bound in ms, cumulative count]. */
function bucketDeltas(before: Map<string, number>, after: Map<string, number>, name: string, otherLabels: string): [number, number][] {
  const out: [number, number][] = [];
  for (const [key, v] of after) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"${otherLabels}\\}$`).exec(key);
    if (m) out.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]) * 1000, v - (before.get(key) ?? 0)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Smallest bucket bound with at least `share` of the observations at or below it. */
function bucketQuantile(buckets: [number, number][], share: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  return buckets.find(([, cumulative]) => cumulative >= share * total)?.[0] ?? Number.NaN;
}

/**
 * The API's loop delay, GC pauses and own request timings over a phase, from its /metrics
 * (prom-client's default metrics: the loop-delay histogram is reset on every scrape, GC durations
 * and our histograms are cumulative), so the API process runs exactly its production code. The
 * gap between the API's own request time and the client's latency is spent outside the handler:
 * waiting for the API's event loop, on the network, or in the load generator.
 */
export async function apiProbe(port: number): Promise<{ stop(): Promise<ApiReport> }> {
  const before = await scrapeMetrics(port);
  return {
    async stop() {
      const after = await scrapeMetrics(port);
      const gc: LoopReport['gc'] = {};
      for (const [key, v] of after) {
        const m = /^riskstream_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\}$/.exec(key);
        if (!m) continue;
        const entry = (gc[m[2]!] ??= { count: 0, totalMs: 0 });
        const delta = v - (before.get(key) ?? 0);
        if (m[1] === 'count') entry.count = delta;
        else entry.totalMs = round(delta * 1000);
      }
      const ms = (name: string) => round((after.get(`riskstream_nodejs_eventloop_lag_${name}_seconds`) ?? Number.NaN) * 1000);
      const handler = bucketDeltas(before, after, 'riskstream_ingest_request_duration_seconds', ',route="/v1/events"');
      const kafka = bucketDeltas(before, after, 'riskstream_ingest_kafka_send_seconds', '');
      const within20 = handler.find(([le]) => le === 20)?.[1] ?? Number.NaN;
      const total = handler.at(-1)?.[1] ?? Number.NaN;
      return {
        loopDelayP99Ms: ms('p99'), loopDelayMaxMs: ms('max'), gc,
        handlerP99AtMostMs: bucketQuantile(handler, 0.99), handlerOver20MsShare: round((1 - within20 / total) * 100),
        kafkaSendP99AtMostMs: bucketQuantile(kafka, 0.99),
      };
    },
  };
}

/** perf_hooks GC kinds under the names prom-client uses for the API's. */
const GC_KINDS = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** The same for this process (the load generator): its own stalls would show up as latency. */
export function localLoopProbe(): { stop(): LoopReport } {
  const delay = monitorEventLoopDelay({ resolution: 10 }); // as the API's (prom-client's default)
  const gc: LoopReport['gc'] = {};
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const code = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const kind = GC_KINDS.get(code ?? -1) ?? 'other';
      const e = (gc[kind] ??= { count: 0, totalMs: 0 });
      e.count += 1;
      e.totalMs = round(e.totalMs + entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  return {
    stop() {
      delay.disable();
      observer.disconnect();
      return { loopDelayP99Ms: round(delay.percentile(99) / 1e6), loopDelayMaxMs: round(delay.max / 1e6), gc };
    },
  };
}
