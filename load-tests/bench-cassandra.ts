/**
 * Cassandra write-cost benchmark: the real CassandraUpsertSink against the local Cassandra with
 * the upserts the payment pipelines produce (load-tests/cassandra-workload.ts runs the real
 * merchant and user actors over generated traffic), reporting rows/s and the Cassandra JVM's
 * CPU per row and per event. CPU per row is the number to optimise on a shared 2-core box:
 * unlike a rate, it barely moves when other processes compete for the cores.
 *
 *   npm run bench:cassandra -- --json <file> [--phases replay,steady] [--events 200000]
 *        [--period-hours 48] [--batch-records 500] [--in-flight 8] [--warmup-events 40000]
 *        [--rate 5000] [--steady-seconds 30] [--steady-warmup-seconds 5] [--steady-batch 20]
 *        [--tables merchant_windows,...] [--contact-point 127.0.0.1:9042] [--cassandra-pid <pid>]
 *        [--jmx-port 7199] [--no-settle] [--keep] [--seed <s>]
 *
 * replay  --events over --period-hours of event time (the generator's density, ~3.5 final
 *         windows per event as in bench:pipeline's replay), 12 partitions per topic, drains of
 *         --batch-records, --in-flight drains at once (two workers × --concurrency 4).
 * steady  real-time traffic: --rate events/s for --steady-seconds, event time = wall time (so
 *         windows hardly close: the lateness horizon is 20 min), drains of --steady-batch
 *         records released on schedule (open loop); reports each drain's latency too.
 *
 * Each phase measures after a warm-up, then flushes the keyspace and waits for its compactions
 * (`settle`), so the CPU "with settle" includes the flush and compaction work of the rows: the
 * fair figure when comparing memtable sizes. The Cassandra pid comes from .stack/run (the stack
 * script's pid file) unless --cassandra-pid is given; its CPU includes any other client's work,
 * so note the idle CPU printed first. Uses a fresh keyspace, dropped afterwards unless --keep.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { dropKeyspace, migrate } from '../src/adapters/cassandra/migrate.ts';
import { CassandraUpsertSink } from '../src/adapters/cassandra/upsert-sink.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { type PhaseEnv, type PhaseResult, runReplayPhase, runSteadyPhase } from './cassandra-phases.ts';
import { buildWorkload, type WorkloadOptions } from './cassandra-workload.ts';
import { cpuSample, loadAverage, stackPids } from './pipeline-machine.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    phases: { type: 'string', default: 'replay,steady' },
    events: { type: 'string', default: '200000' },
    'period-hours': { type: 'string', default: '48' },
    'batch-records': { type: 'string', default: '500' },
    'in-flight': { type: 'string', default: '8' },
    'warmup-events': { type: 'string', default: '40000' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '30' },
    'steady-warmup-seconds': { type: 'string', default: '5' },
    'steady-batch': { type: 'string', default: '20' },
    tables: { type: 'string' },
    'contact-point': { type: 'string', default: '127.0.0.1:9042' },
    'cassandra-pid': { type: 'string' },
    'jmx-port': { type: 'string', default: '7199' },
    'no-settle': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string' },
  },
});
if (!values.json) {
  console.error('usage: npm run bench:cassandra -- --json <file> [--phases replay,steady] [--events 200000] ...');
  process.exit(2);
}
const phases = new Set(values.phases.split(',').map((p) => p.trim()));
const runId = `bc${Date.now().toString(36)}`;
const seed = values.seed ?? runId;
const keyspace = `${runId}_cass`;
const partitions = 12;
const allowedLatenessMs = 20 * 60_000;
const tables = values.tables === undefined ? undefined : new Set(values.tables.split(',').map((t) => t.trim()));
const say = (line: string) => console.log(line);

export interface CassandraBenchReport {
  readonly replay: PhaseResult | null;
  readonly steady: PhaseResult | null;
  readonly cassandraIdleCores: number;
  readonly options: Record<string, unknown>;
  readonly machine: { readonly cpus: number; readonly node: string; readonly loadAvgBefore: number[]; readonly loadAvgAfter: number[] };
  readonly keyspace: string;
  readonly runId: string;
  readonly measuredAt: string;
}

function workload(name: string, o: Omit<WorkloadOptions, 'seed' | 'partitions' | 'allowedLatenessMs' | 'tables'>) {
  const t0 = performance.now();
  const w = buildWorkload({ ...o, seed: `${seed}${name}`, partitions, allowedLatenessMs, ...(tables ? { tables } : {}) });
  const rows = Object.values(w.rowsByTable).reduce((a, b) => a + b, 0);
  say(`${name}: ${w.events.toLocaleString('en')} events → ${rows.toLocaleString('en')} rows in ${w.drains.length.toLocaleString('en')} drains ` +
    `(${Object.entries(w.rowsByTable).map(([t, n]) => `${t} ${(n / w.events).toFixed(2)}`).join(', ')} per event), built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return w;
}

function summary(name: string, r: PhaseResult): string {
  const lines = [
    `${name}: ${r.rows.toLocaleString('en')} rows (${r.events.toLocaleString('en')} events, ${r.drains} drains) in ${r.loadSeconds} s = ${r.rowsPerSecond.toLocaleString('en')} rows/s, ${r.eventsPerSecond.toLocaleString('en')} events/s`,
    `  Cassandra CPU per row ${r.cassandraMicrosPerRow.load} µs (with flush+compaction ${r.cassandraMicrosPerRow.withSettle} µs, settle ${r.settleSeconds} s)`,
    `  Cassandra CPU per event ${r.cassandraMicrosPerEvent.load} µs (with flush+compaction ${r.cassandraMicrosPerEvent.withSettle} µs); driver (this process) ${r.benchMicrosPerEvent} µs per event`,
    `  cores: cassandra ${r.cpuLoad.coresByProcess.cassandra ?? 'n/a'}, bench ${r.cpuLoad.coresByProcess.bench}; machine ${r.cpuLoad.machineCoresBusy} of ${r.cpuLoad.cores} busy; load ${r.cpuLoad.loadAvgBefore.join(' ')} → ${r.cpuLoad.loadAvgAfter.join(' ')}`,
  ];
  if (r.drainLatencyMs) lines.push(`  drain latency (scheduled → written) p50 ${r.drainLatencyMs.p50} ms, p99 ${r.drainLatencyMs.p99} ms, max ${r.drainLatencyMs.max} ms`);
  return lines.join('\n');
}

function markdown(r: CassandraBenchReport): string {
  const out = [`# Cassandra write-cost benchmark`, '', `Run ${r.runId}, ${r.measuredAt}, keyspace ${r.keyspace}; Cassandra idle before: ${r.cassandraIdleCores} cores (other clients).`, ''];
  for (const [name, p] of [['replay', r.replay], ['steady', r.steady]] as const) if (p) out.push('```', summary(name, p), '```', '');
  out.push(`Options: \`${JSON.stringify(r.options)}\``, '', `Machine: ${r.machine.cpus} cores, Node ${r.machine.node}; load ${r.machine.loadAvgBefore.join(' ')} before, ${r.machine.loadAvgAfter.join(' ')} after.`, '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const loadAvgBefore = loadAverage();
  const cassandraPid = values['cassandra-pid'] === undefined ? stackPids().cassandra : Number(values['cassandra-pid']);
  const config = loadConfig({}, { cassandra: { contactPoints: [values['contact-point']], keyspace } });
  const replayLoad = phases.has('replay')
    ? workload('replay', { events: Number(values.events), periodMs: Number(values['period-hours']) * 3_600_000, startMs: Date.UTC(2026, 0, 1), batchRecords: Number(values['batch-records']) })
    : null;
  const steadySeconds = Number(values['steady-seconds']) + Number(values['steady-warmup-seconds']);
  const steadyLoad = phases.has('steady')
    ? workload('steady', { events: Number(values.rate) * steadySeconds, periodMs: 48 * 3_600_000, squeezeToMs: steadySeconds * 1000, startMs: Date.UTC(2026, 1, 1), batchRecords: Number(values['steady-batch']) })
    : null;
  await migrate(config);
  const sink = () => new CassandraUpsertSink({ contactPoints: config.cassandra.contactPoints, localDataCenter: config.cassandra.localDataCenter, keyspace });
  const env: PhaseEnv = {
    sinks: { merchant: sink(), user: sink() }, keyspace, contactPoint: values['contact-point'], cassandraPid,
    jmxPort: Number(values['jmx-port']), settle: !values['no-settle'],
  };
  let report: CassandraBenchReport | undefined;
  try {
    const idle = cpuSample({ cassandra: cassandraPid });
    await new Promise((r) => setTimeout(r, 3000));
    const cassandraIdleCores = idle.stop().coresByProcess.cassandra ?? Number.NaN;
    say(`Cassandra pid ${cassandraPid ?? 'unknown'}, ${cassandraIdleCores} cores busy before the run (other clients); keyspace ${keyspace}`);
    const replay = replayLoad ? await runReplayPhase(env, replayLoad, { warmupEvents: Number(values['warmup-events']), inFlight: Number(values['in-flight']) }) : null;
    if (replay) say(summary('replay', replay));
    const steady = steadyLoad ? await runSteadyPhase(env, steadyLoad, { rate: Number(values.rate), warmupSeconds: Number(values['steady-warmup-seconds']) }) : null;
    if (steady) say(summary('steady', steady));
    report = {
      replay, steady, cassandraIdleCores, options: { ...values, json: undefined }, keyspace, runId, measuredAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version, loadAvgBefore, loadAvgAfter: loadAverage() },
    };
  } finally {
    await Promise.all([env.sinks.merchant.close(), env.sinks.user.close()]);
    if (!values.keep) await dropKeyspace(config, keyspace);
  }
  mkdirSync(dirname(values.json!), { recursive: true });
  writeFileSync(values.json!, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(values.json!.replace(/\.json$/, '') + '.md', markdown(report));
  say(`wrote ${values.json} and its .md`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
