import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChildResult } from './bench-runtime-child.ts';

/**
 * The runtime benchmark's result file (JSON). Numbers are plain numbers; rates in events/s,
 * times in ms, memory in MiB (2^20 bytes).
 */
export interface BenchReport {
  readonly eventsPerSecond: number;
  readonly rawEventsPerSecond: number;
  /** eventsPerSecond / rawEventsPerSecond. */
  readonly ratio: number;
  readonly commitP50Ms: number;
  readonly commitP99Ms: number;
  readonly commitMaxMs: number;
  readonly commits: number;
  readonly eventsPerCommit: number;
  /** Peak resident set (VmHWM) of the runtime process. */
  readonly peakRssMiB: number;
  readonly rawPeakRssMiB: number;
  /** The runtime's process.memoryUsage() at its highest sampled RSS (MiB). */
  readonly runtimeMemoryAtPeakMiB: Readonly<Record<string, number>>;
  readonly events: number;
  readonly distinctKeys: number;
  readonly partitions: number;
  readonly runtimeSeconds: number;
  readonly rawSeconds: number;
  readonly prefillSeconds: number | null;
  readonly activeActorsAtEnd: number;
  readonly runs: { readonly raw: readonly number[]; readonly runtime: readonly number[] };
  readonly loadAverage: readonly [number, number];
  /** CPU (user + system) per event while measuring: the runtime process, the raw consumer. */
  readonly runtimeCpuMicrosPerEvent: number;
  readonly rawCpuMicrosPerEvent: number;
  /** Redis server CPU per event over the runtime run (includes any other client's load). */
  readonly redisCpuMicrosPerEvent: number;
  /**
   * `--ceiling` only: the same runtime with a store that keeps nothing (no Redis): the engine's
   * own rate, its share of raw and its CPU per event. Diagnostic; no target applies to it.
   */
  readonly ceiling?: {
    readonly eventsPerSecond: number;
    readonly ratio: number;
    readonly cpuMicrosPerEvent: number;
    readonly peakRssMiB: number;
    readonly runs: readonly number[];
  };
  readonly settings: Readonly<Record<string, number | string>>;
  readonly targets: { readonly minEventsPerSecond: number; readonly minRatio: number; readonly maxPeakRssMiB: number };
  readonly targetsMet: { readonly eventsPerSecond: boolean; readonly ratio: boolean; readonly peakRss: boolean };
  readonly measuredAt: string;
}

export interface ReportInput {
  readonly topic: string;
  readonly partitions: number;
  readonly events: number;
  readonly keys: number;
  readonly prefillSeconds: number | null;
  readonly raw: ChildResult;
  readonly runtime: ChildResult;
  readonly concurrency: number;
  readonly maxBytesPerPartition: number;
  readonly maxActiveActors: number;
  readonly mailboxCapacity: number;
  readonly heapMiB: number;
  readonly semiSpaceMiB: number;
  readonly redisCpuMicros: number;
  /** Highest peak RSS over the runtime runs. */
  readonly peakRssMiB: number;
  /** Rates of every run (events/s); the report's rates are the median runs. */
  readonly runs: { readonly raw: readonly number[]; readonly runtime: readonly number[] };
  /** 1-minute load average at the start and at the end (other work on the machine). */
  readonly loadAverage: readonly [number, number];
  /** `--ceiling`: the median NullStateStore run and every run's rate. */
  readonly ceiling?: { readonly median: ChildResult; readonly runs: readonly number[] } | undefined;
}

const TARGETS = { minEventsPerSecond: 50_000, minRatio: 0.6, maxPeakRssMiB: 512 } as const;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function ceilingOf(run: ChildResult, runs: readonly number[], raw: ChildResult): NonNullable<BenchReport['ceiling']> {
  return {
    eventsPerSecond: Math.round(run.eventsPerSecond), ratio: round(run.eventsPerSecond / raw.eventsPerSecond, 3),
    cpuMicrosPerEvent: round(run.cpuMicrosPerEvent), peakRssMiB: round(run.peakRssMiB, 1), runs,
  };
}

export function buildReport(input: ReportInput): BenchReport {
  const { raw, runtime } = input;
  const commitMs = runtime.commitMs ?? [];
  const ratio = runtime.eventsPerSecond / raw.eventsPerSecond;
  return {
    eventsPerSecond: Math.round(runtime.eventsPerSecond),
    rawEventsPerSecond: Math.round(raw.eventsPerSecond),
    ratio: round(ratio, 3),
    commitP50Ms: round(percentile(commitMs, 50)),
    commitP99Ms: round(percentile(commitMs, 99)),
    commitMaxMs: round(commitMs.at(-1) ?? Number.NaN),
    commits: commitMs.length,
    eventsPerCommit: round(runtime.events / Math.max(1, commitMs.length), 1),
    peakRssMiB: round(input.peakRssMiB, 1),
    rawPeakRssMiB: round(raw.peakRssMiB, 1),
    runtimeMemoryAtPeakMiB: runtime.memoryAtPeakMiB,
    events: input.events,
    distinctKeys: Math.min(input.keys, input.events),
    partitions: input.partitions,
    runtimeSeconds: round(runtime.seconds),
    rawSeconds: round(raw.seconds),
    prefillSeconds: input.prefillSeconds === null ? null : round(input.prefillSeconds),
    activeActorsAtEnd: runtime.activeActors ?? 0,
    runs: input.runs,
    loadAverage: [round(input.loadAverage[0]), round(input.loadAverage[1])],
    runtimeCpuMicrosPerEvent: round(runtime.cpuMicrosPerEvent),
    rawCpuMicrosPerEvent: round(raw.cpuMicrosPerEvent),
    redisCpuMicrosPerEvent: round(input.redisCpuMicros / input.events),
    ...(input.ceiling && { ceiling: ceilingOf(input.ceiling.median, input.ceiling.runs, raw) }),
    settings: {
      topic: input.topic, partitionsConsumedConcurrently: input.concurrency, maxBytesPerPartition: input.maxBytesPerPartition,
      maxActiveActors: input.maxActiveActors, mailboxCapacity: input.mailboxCapacity, heapMiB: input.heapMiB,
      semiSpaceMiB: input.semiSpaceMiB, node: process.version,
    },
    targets: TARGETS,
    targetsMet: {
      eventsPerSecond: runtime.eventsPerSecond >= TARGETS.minEventsPerSecond,
      ratio: ratio >= TARGETS.minRatio,
      peakRss: input.peakRssMiB <= TARGETS.maxPeakRssMiB,
    },
    measuredAt: new Date().toISOString(),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');

function lines(r: BenchReport): string[] {
  return [
    `| events | ${fmt(r.events)} over ${r.partitions} partitions, ${fmt(r.distinctKeys)} distinct keys |`,
    `| raw kafkajs consume | ${fmt(r.rawEventsPerSecond)} events/s (${r.rawSeconds} s) |`,
    `| runtime (counter, Redis, exactly-once) | ${fmt(r.eventsPerSecond)} events/s (${r.runtimeSeconds} s) — target ≥ ${fmt(r.targets.minEventsPerSecond)}: ${mark(r.targetsMet.eventsPerSecond)} |`,
    `| ratio | ${(r.ratio * 100).toFixed(1)}% of raw — target ≥ ${r.targets.minRatio * 100}%: ${mark(r.targetsMet.ratio)} |`,
    `| batch commit | p50 ${r.commitP50Ms} ms, p99 ${r.commitP99Ms} ms, max ${r.commitMaxMs} ms; ${fmt(r.commits)} commits, ${r.eventsPerCommit} events each |`,
    `| runtime peak RSS | ${r.peakRssMiB} MiB (raw consumer ${r.rawPeakRssMiB} MiB) — target ≤ ${r.targets.maxPeakRssMiB}: ${mark(r.targetsMet.peakRss)} |`,
    `| CPU per event | runtime ${r.runtimeCpuMicrosPerEvent} µs, Redis ${r.redisCpuMicrosPerEvent} µs, raw consumer ${r.rawCpuMicrosPerEvent} µs |`,
    `| runs (events/s) | raw ${r.runs.raw.map(fmt).join(', ')}; runtime ${r.runs.runtime.map(fmt).join(', ')} (median reported); load average ${r.loadAverage[0]} → ${r.loadAverage[1]} |`,
    `| actors in memory at end | ${fmt(r.activeActorsAtEnd)} (bound ${r.settings.maxActiveActors}) |`,
    ...(r.ceiling ? [ceilingLine(r.ceiling)] : []),
  ];
}

function ceilingLine(c: NonNullable<BenchReport['ceiling']>): string {
  const share = `${(c.ratio * 100).toFixed(1)}% of raw`;
  return `| engine without storage (diagnostic) | ${fmt(c.eventsPerSecond)} events/s, ${share}, ${c.cpuMicrosPerEvent} µs CPU per event, peak RSS ${c.peakRssMiB} MiB; runs ${c.runs.map(fmt).join(', ')} |`;
}

/** Writes the JSON and `<name>.md` beside it; returns both paths. */
export function writeReport(report: BenchReport, jsonPath: string): { json: string; markdown: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = `${jsonPath.replace(/\.json$/, '')}.md`;
  const settings = Object.entries(report.settings).map(([k, v]) => `${k}=${v}`).join(', ');
  const body = [
    '# Runtime benchmark', '', `Measured ${report.measuredAt} (${settings}).`, '', '| | |', '|---|---|', ...lines(report), '',
    'Rates count from the first batch to the last commit (runtime) or message (raw); group joins are excluded.',
    `Pre-fill: ${report.prefillSeconds === null ? 'reused an existing topic' : `${report.prefillSeconds} s`}.`, '',
  ].join('\n');
  writeFileSync(markdown, body);
  return { json: jsonPath, markdown };
}

export function printSummary(report: BenchReport, files: { json: string; markdown: string }): void {
  console.log('');
  for (const line of lines(report)) console.log(line.replace(/^\| /, '  ').replace(/ \| /, ': ').replace(/ \|$/, ''));
  console.log(`\n  wrote ${files.json} and ${files.markdown}`);
}
