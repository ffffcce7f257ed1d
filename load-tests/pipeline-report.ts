/**
 * The pipeline benchmark's result: JSON (numbers are plain numbers; rates in events/s or
 * requests/s, times in ms unless named `…Seconds`), a markdown report beside it and a summary
 * on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LatencyResult } from './pipeline-latency.ts';
import type { LookupResult } from './pipeline-lookup.ts';
import type { CpuReport } from './pipeline-machine.ts';
import type { ReplayResult } from './pipeline-replay.ts';

export const TARGETS = { replayEventsPerSecond: 30_000, scoreLatencyP99Ms: 50, lookupP99Ms: 10 } as const;

export interface PipelineBenchReport {
  /** Measurement 1 (NaN when not run). */
  readonly replayEventsPerSecond: number;
  /** Measurement 2: p99 of scheduled send → score visible through GET /v1/scores/:eventId. */
  readonly scoreLatencyP99Ms: number;
  /** Measurement 3: p99 of GET /v1/users/:id/risk at the target rate. */
  readonly lookupP99Ms: number;
  readonly targets: typeof TARGETS;
  readonly targetsMet: { readonly replay: boolean; readonly scoreLatency: boolean; readonly lookup: boolean };
  readonly replay: ReplayResult | null;
  readonly latency: LatencyResult | null;
  readonly lookup: LookupResult | null;
  /** Measurements that failed, with the error message (their fields are null / NaN). */
  readonly errors: Record<string, string>;
  readonly machine: { readonly cpus: number; readonly node: string; readonly loadAvgBefore: number[]; readonly loadAvgAfter: number[] };
  readonly runId: string;
  readonly measuredAt: string;
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a');
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');

function cpuLine(cpu: CpuReport): string {
  const parts = Object.entries(cpu.coresByProcess).sort((a, b) => b[1] - a[1]).map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  return `${parts.join(', ')}; machine ${cpu.machineCoresBusy.toFixed(2)} of ${cpu.cores} cores busy; load ${cpu.loadAvgBefore[0]} → ${cpu.loadAvgAfter[0]}`;
}

/** Peak RSS of the workers (the processes a container limit applies to), largest first. */
function peakRssLine(cpu: CpuReport): string {
  const parts = Object.entries(cpu.peakRssMiBByProcess ?? {}).filter(([name]) => name.startsWith('worker-') || name === 'api');
  return parts.length === 0 ? 'n/a' : parts.sort((a, b) => b[1] - a[1]).map(([name, mib]) => `${name} ${mib.toFixed(1)}`).join(', ') + ' MiB (VmHWM since start)';
}

function perEventLine(micros: Record<string, number>): string {
  const parts = Object.entries(micros).filter(([name]) => name !== 'bench').sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((n, [, us]) => n + us, 0);
  return `${parts.map(([name, us]) => `${name} ${us}`).join(', ')} µs; ${total} µs in all (the services' share includes other clients' work)`;
}

/**
 * How dense the replayed traffic is in event time, which decides the merchant's output per
 * event: a final window is written per merchant, status and slide that holds data, so a sparse
 * stream (few events per merchant and minute) writes several windows per event, and a production
 * stream of thousands of events per second far less than one.
 */
function densityLine(replay: NonNullable<PipelineBenchReport['replay']>): string {
  const perSecond = replay.eventsPerEventTimeSecond;
  const perMerchantMinute = (perSecond * 60) / replay.merchants;
  return `${perSecond} events per second of event time (${fmt(replay.events)} records over ${replay.periodHours} h, ${fmt(replay.merchants)} merchants: ${perMerchantMinute.toFixed(3)} events per merchant and minute), so each event closes ${replay.windowsPerEvent} final windows; read per-event costs with that in mind: a stream of thousands of events/s closes far less than one window per event`;
}

function rows(r: PipelineBenchReport): [string, string][] {
  const out: [string, string][] = [];
  const { replay, latency, lookup } = r;
  if (replay) {
    out.push(
      ['replay throughput', `**${fmt(replay.eventsPerSecond)} events/s** end to end (${fmt(replay.events)} records in ${replay.seconds} s) — target ≥ ${fmt(TARGETS.replayEventsPerSecond)}: ${mark(r.targetsMet.replay)}`],
      ['replay stages', `merchant ${fmt(replay.merchant.eventsPerSecond)}/s (${replay.merchant.seconds} s), user ${fmt(replay.user.eventsPerSecond)}/s (${fmt(replay.user.records)} records, ${replay.user.seconds} s); user backlog max ${fmt(replay.maxUserBacklog)}; one worker per pipeline, --concurrency ${replay.workerConcurrency}`],
      ['replay incl. start-up', `${fmt(replay.eventsPerSecondInclStartup)} events/s (start-up and group joins ${replay.startupSeconds} s); raw kafkajs consume of the same topic ${fmt(replay.rawConsumeEventsPerSecond)}/s`],
      ['replay outputs', `${fmt(replay.counts.byUser)} re-keyed, ${fmt(replay.counts.scores)} scores (${replay.scoresMatchByUser ? 'one per accepted event' : 'MISMATCH'}), ${fmt(replay.counts.alerts)} alerts, ${fmt(replay.counts.windows)} final windows (${replay.windowsPerEvent} per record; traffic over ${replay.periodHours} h of event time), DLQ late ${fmt(replay.counts.dlqLate)} / invalid ${fmt(replay.counts.dlqInvalid)} / failed ${fmt(replay.counts.dlqProcessing)}`],
      ['replay data density', densityLine(replay)],
      ['replay CPU (cores)', cpuLine(replay.cpu)],
      ['replay CPU per event', perEventLine(replay.cpuMicrosPerEvent)],
      ['replay peak RSS', peakRssLine(replay.cpu)],
    );
  }
  if (latency) {
    const v = latency.visible;
    out.push(
      ['ingest → score visible', `p50 ${v.p50Ms} ms, p90 ${v.p90Ms} ms, **p99 ${v.p99Ms} ms**, max ${v.maxMs} ms over ${fmt(v.count)} sampled events — target p99 ≤ ${TARGETS.scoreLatencyP99Ms}: ${mark(r.targetsMet.scoreLatency)}`],
      ['latency load', `${fmt(latency.achievedEventsPerSecond)}/${fmt(latency.targetEventsPerSecond)} events/s open loop (sender up to ${fmt(latency.maxDispatchLagMs)} ms behind schedule), ${fmt(latency.events)} events in batches of ${latency.batch}; every ${Math.round(latency.events / Math.max(1, latency.sampled))}th followed; last sampled score visible ${latency.drainSeconds} s after the last send; ${latency.missing} never visible (counted with the time waited), ${latency.ingestErrors} ingest errors`],
      ['latency state', latency.history.events > 0
        ? `backfill of ${fmt(latency.history.accepted)} events over ${latency.history.eventTimeMinutes} min of event time before the warm-up (sent and scored in ${latency.history.seconds} s); ${fmt(latency.history.windowsClosedWhileMeasuring)} final windows closed while measuring`
        : `no backfill: ${fmt(latency.history.windowsClosedWhileMeasuring)} final windows closed while measuring`],
      ['latency over the run', `p99 per ${latency.sliceSeconds} s of send time: ${latency.visibleBySlice.map((x) => fmt(x.p99Ms)).join(' ')} ms`],
      ['latency parts', `score on risk.scores p50 ${latency.emitted.p50Ms} / p99 ${latency.emitted.p99Ms} ms; ingest 202 p50 ${latency.ingest.p50Ms} / p99 ${latency.ingest.p99Ms} ms; ${fmt(latency.lookupRetries)} lookups answered 404 first`],
      ['latency CPU (cores)', cpuLine(latency.cpu)],
      ['latency CPU per event', perEventLine(latency.cpuMicrosPerEvent)],
      ['latency peak RSS', peakRssLine(latency.cpu)],
    );
  }
  if (lookup) {
    const l = lookup.latency;
    out.push(
      ['lookup GET /v1/users/:id/risk', `p50 ${l.p50Ms} ms, p90 ${l.p90Ms} ms, **p99 ${l.p99Ms} ms**, max ${l.maxMs} ms at ${fmt(lookup.achievedRps)}/${fmt(lookup.targetRps)} rps open loop (sender up to ${fmt(lookup.maxDispatchLagMs)} ms behind schedule), ${fmt(lookup.requests)} requests over ${fmt(lookup.users)} users, ${lookup.errors} errors — target p99 ≤ ${TARGETS.lookupP99Ms}: ${mark(r.targetsMet.lookup)}`],
      ['lookup CPU (cores)', cpuLine(lookup.cpu)],
    );
  }
  for (const [phase, message] of Object.entries(r.errors)) out.push([`${phase} FAILED`, message.replace(/\|/g, '/')]);
  out.push(['machine', `${r.machine.cpus} cores, Node ${r.machine.node}; load average ${r.machine.loadAvgBefore.join(' ')} before, ${r.machine.loadAvgAfter.join(' ')} after`]);
  return out;
}

/** Writes the JSON and `<name>.md` beside it; returns both paths. */
export function writeReport(report: PipelineBenchReport, jsonPath: string, notes: readonly string[]): { json: string; markdown: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = `${jsonPath.replace(/\.json$/, '')}.md`;
  const body = [
    '# Pipeline benchmark', '', `Run ${report.runId}, measured ${report.measuredAt}.`, '', '| | |', '|---|---|',
    ...rows(report).map(([k, v]) => `| ${k} | ${v} |`), '', '## How it was measured', '', ...notes.map((n) => `- ${n}`), '',
  ].join('\n');
  writeFileSync(markdown, body);
  return { json: jsonPath, markdown };
}

export function printSummary(report: PipelineBenchReport, files: { json: string; markdown: string }): void {
  console.log('\npipeline benchmark');
  for (const [k, v] of rows(report)) console.log(`  ${k}: ${v.replace(/\*\*/g, '')}`);
  console.log(`\n  wrote ${files.json} and ${files.markdown}`);
}
