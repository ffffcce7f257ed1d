/**
 * The Cassandra benchmark's two measurements (see bench-cassandra.ts): a replay (drains as fast
 * as `inFlight` lanes take them) and steady real-time traffic (each drain released when its
 * partition batch would be complete at `rate` events/s, open loop). Both run a warm-up first,
 * then sample CPU over the measured drains, then (unless `settle` is off) flush the keyspace and
 * wait for its compactions, so the flush and compaction work the rows cause counts too, whatever
 * the memtable size.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import type { CassandraUpsertSink } from '../src/adapters/cassandra/upsert-sink.ts';
import type { Drain, Workload } from './cassandra-workload.ts';
import { type CpuReport, cpuSample } from './pipeline-machine.ts';
import { REPO_ROOT } from './processes.ts';

export interface PhaseEnv {
  readonly sinks: { readonly merchant: CassandraUpsertSink; readonly user: CassandraUpsertSink };
  readonly keyspace: string;
  readonly contactPoint: string;
  readonly cassandraPid: number | undefined;
  readonly jmxPort: number;
  readonly settle: boolean;
}

export interface PhaseResult {
  /** Accepted events (scores) in the measured drains. */
  readonly events: number;
  readonly rows: number;
  readonly rowsByTable: Record<string, number>;
  readonly drains: number;
  readonly warmupDrains: number;
  readonly loadSeconds: number;
  readonly rowsPerSecond: number;
  readonly eventsPerSecond: number;
  /** CPU while the measured drains ran. */
  readonly cpuLoad: CpuReport;
  /** CPU from the first measured drain until the flush and the compactions it caused ended. */
  readonly cpuWithSettle: CpuReport | null;
  readonly settleSeconds: number;
  readonly cassandraMicrosPerRow: { readonly load: number; readonly withSettle: number };
  readonly cassandraMicrosPerEvent: { readonly load: number; readonly withSettle: number };
  /** This process: the driver's side of the work (a worker's cost in production). */
  readonly benchMicrosPerEvent: number;
  /** Steady only: scheduled release → perform resolved, per drain. */
  readonly drainLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number } | null;
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function perform(env: PhaseEnv, drain: Drain): Promise<void> {
  return env.sinks[drain.pipeline].perform(drain.effects);
}

/** Splits off the leading drains that hold the first `warmupEvents` events. */
function split(w: Workload, warmupEvents: number): { warmup: readonly Drain[]; measured: readonly Drain[] } {
  let events = 0;
  let i = 0;
  while (i < w.drains.length && events < warmupEvents) {
    if (w.drains[i]!.pipeline === 'user') events += w.drains[i]!.records;
    i++;
  }
  return { warmup: w.drains.slice(0, i), measured: w.drains.slice(i) };
}

async function lanes(env: PhaseEnv, drains: readonly Drain[], inFlight: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < drains.length) await perform(env, drains[next++]!);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** Replay: every drain as fast as `inFlight` concurrent drains allow. */
export async function runReplayPhase(env: PhaseEnv, w: Workload, o: { warmupEvents: number; inFlight: number }): Promise<PhaseResult> {
  const { warmup, measured } = split(w, o.warmupEvents);
  await lanes(env, warmup, o.inFlight);
  return measure(env, warmup.length, measured, () => lanes(env, measured, o.inFlight).then(() => null));
}

/**
 * Steady: drain i of a pipeline is due when that pipeline has read all its records at `rate`
 * records/s from the phase's start; as in a worker, a partition's drains run one after the
 * other (a drain waits for the previous one of its partition), different partitions at once.
 * The first `warmupSeconds` are not measured.
 */
export async function runSteadyPhase(env: PhaseEnv, w: Workload, o: { rate: number; warmupSeconds: number }): Promise<PhaseResult> {
  const due: number[] = [];
  const read = { merchant: 0, user: 0 };
  for (const d of w.drains) {
    read[d.pipeline] += d.records;
    due.push((read[d.pipeline] / o.rate) * 1000);
  }
  let firstMeasured = due.findIndex((t) => t >= o.warmupSeconds * 1000);
  if (firstMeasured < 0) firstMeasured = w.drains.length;
  const start = performance.now() + 100;
  const run = async (from: number, to: number, latencies: number[] | null) => {
    const byPartition = new Map<string, number[]>();
    for (let i = from; i < to; i++) {
      const id = `${w.drains[i]!.pipeline}:${w.drains[i]!.partition}`;
      byPartition.set(id, [...(byPartition.get(id) ?? []), i]);
    }
    await Promise.all([...byPartition.values()].map(async (indices) => {
      for (const i of indices) {
        const wait = start + due[i]! - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        await perform(env, w.drains[i]!);
        latencies?.push(performance.now() - (start + due[i]!));
      }
    }));
  };
  await run(0, firstMeasured, null);
  const latencies: number[] = [];
  return measure(env, firstMeasured, w.drains.slice(firstMeasured), async () => {
    await run(firstMeasured, w.drains.length, latencies);
    latencies.sort((a, b) => a - b);
    const at = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? Number.NaN, 1);
    return { p50: at(0.5), p99: at(0.99), max: round(latencies.at(-1) ?? Number.NaN, 1) };
  });
}

async function measure(
  env: PhaseEnv, warmupDrains: number, measured: readonly Drain[],
  body: () => Promise<PhaseResult['drainLatencyMs']>,
): Promise<PhaseResult> {
  const rowsByTable: Record<string, number> = {};
  let events = 0;
  for (const d of measured) {
    if (d.pipeline === 'user') events += d.records;
    for (const e of d.effects) rowsByTable[e.sink] = (rowsByTable[e.sink] ?? 0) + 1;
  }
  const rows = Object.values(rowsByTable).reduce((a, b) => a + b, 0);
  const pids = { cassandra: env.cassandraPid };
  const load = cpuSample(pids);
  const withSettle = cpuSample(pids);
  const drainLatencyMs = await body();
  const cpuLoad = load.stop();
  let cpuWithSettle: CpuReport | null = null;
  let settleSeconds = 0;
  if (env.settle) {
    const t0 = performance.now();
    await flushAndWaitForCompactions(env);
    settleSeconds = round((performance.now() - t0) / 1000, 2);
    cpuWithSettle = withSettle.stop();
  }
  const micros = (cpu: CpuReport | null, name: string, n: number) =>
    cpu === null ? Number.NaN : round(((cpu.coresByProcess[name] ?? Number.NaN) * cpu.seconds * 1e6) / n, 1);
  return {
    events, rows, rowsByTable, drains: measured.length, warmupDrains,
    loadSeconds: cpuLoad.seconds, rowsPerSecond: Math.round(rows / cpuLoad.seconds), eventsPerSecond: Math.round(events / cpuLoad.seconds),
    cpuLoad, cpuWithSettle, settleSeconds,
    cassandraMicrosPerRow: { load: micros(cpuLoad, 'cassandra', rows), withSettle: micros(cpuWithSettle, 'cassandra', rows) },
    cassandraMicrosPerEvent: { load: micros(cpuLoad, 'cassandra', events), withSettle: micros(cpuWithSettle, 'cassandra', events) },
    benchMicrosPerEvent: micros(cpuLoad, 'bench', events),
    drainLatencyMs,
  };
}

/**
 * Flushes the keyspace's memtables (nodetool over the local JMX port, with the stack's own
 * Cassandra jars), then polls system_views.sstable_tasks until no flush or compaction of the
 * keyspace has run for a second (at most two minutes).
 */
async function flushAndWaitForCompactions(env: PhaseEnv): Promise<void> {
  const classpath = join(REPO_ROOT, '.stack', 'jars', 'cassandra', '*');
  // nodetool's own JVM flags (Cassandra's tools reach into NIO internals on Java 17).
  const jvm = ['--add-exports=java.base/sun.nio.ch=ALL-UNNAMED', '--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED', '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED'];
  await promisify(execFile)('java', [...jvm, '-cp', classpath, 'org.apache.cassandra.tools.NodeTool', '-h', '127.0.0.1', '-p', String(env.jmxPort), 'flush', env.keyspace], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  const client = new cassandra.Client({ contactPoints: [env.contactPoint], localDataCenter: 'datacenter1' });
  try {
    const deadline = Date.now() + 120_000;
    let quiet = 0;
    while (quiet < 2 && Date.now() < deadline) {
      const rs = await client.execute('SELECT keyspace_name FROM system_views.sstable_tasks');
      quiet = rs.rows.some((r) => r.keyspace_name === env.keyspace) ? 0 : quiet + 1;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.shutdown();
  }
}
