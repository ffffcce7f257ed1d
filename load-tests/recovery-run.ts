/**
 * The recovery benchmark as a function (load-tests/bench-recovery.ts is its command line; the
 * integration test runs it at a small size): world, live traffic, kills, the exactness check.
 */
import { mkdirSync } from 'node:fs';
import { createLogger } from '../src/runtime/logger.ts';
import { killAndMeasure, type RoundResult, type Scenario, waitSteady } from './recovery-rounds.ts';
import { byScenario, median, type RecoveryReport, TARGET_MAX_RECOVERY_MS } from './recovery-report.ts';
import { LiveTraffic } from './recovery-traffic.ts';
import { PARTITIONS, RecoveryWorld } from './recovery-world.ts';

/** The order kills go through: the CI test's two kills are a failover and a restart. */
const SCENARIOS: readonly Scenario[] = ['failover', 'restart', 'graceful'];

export interface RecoveryOptions {
  readonly id: string;
  readonly logDir: string;
  readonly kills: number;
  readonly eventsPerSecond: number;
  readonly keys: number;
  readonly seed: number;
  /** The kill order; default failover, restart, graceful, round and round. */
  readonly scenarios?: readonly Scenario[];
  /** Start workers without kafka.instanceId (the behaviour before it existed), for comparison. */
  readonly withoutInstanceIds?: boolean;
  /** Called with a line of progress. */
  readonly progress?: (line: string) => void;
}

export async function runRecoveryBench(o: RecoveryOptions): Promise<RecoveryReport> {
  mkdirSync(o.logDir, { recursive: true });
  const world = new RecoveryWorld(o.id, o.logDir, createLogger({ name: 'bench-recovery', level: 'warn' }));
  const producer = await world.setUp();
  const traffic = new LiveTraffic(producer, {
    topic: world.topic, partitions: PARTITIONS, eventsPerSecond: o.eventsPerSecond, keys: o.keys, duplicateRate: 0.05, seed: o.seed,
  });
  const rounds: RoundResult[] = [];
  try {
    traffic.start();
    const first = o.withoutInstanceIds === true ? null : undefined;
    let live = [world.startWorker(first), world.startWorker(first)];
    for (let round = 1; round <= o.kills; round += 1) {
      await waitSteady(world, live, 120_000);
      const [victim, survivor] = round % 2 === 1 ? [live[0]!, live[1]!] : [live[1]!, live[0]!];
      const order = o.scenarios ?? SCENARIOS;
      const scenario = order[(round - 1) % order.length]!;
      o.progress?.(`kill ${round}/${o.kills} (${scenario}) of ${victim.name}`);
      const measured = await killAndMeasure(world, { round, scenario, victim, survivor, timeoutMs: 120_000 });
      rounds.push(measured.result);
      live = measured.live;
      o.progress?.(`  partitions ${measured.result.partitions.join(',')} processing again by ${(measured.result.maxRecoveryMs / 1000).toFixed(2)} s`);
    }
    await traffic.stop();
    await world.waitCaughtUp(120_000);
    return await buildReport(world, traffic, rounds, o);
  } finally {
    await traffic.stop().catch(() => undefined);
    await world.tearDown();
  }
}

async function buildReport(world: RecoveryWorld, traffic: LiveTraffic, rounds: readonly RoundResult[], o: RecoveryOptions): Promise<RecoveryReport> {
  const states = await world.states();
  const mismatches: string[] = [];
  for (const key of new Set([...states.keys(), ...traffic.counts.keys()])) {
    const got = states.get(key);
    const want = traffic.counts.get(key);
    if (got?.count !== want?.count || got?.sum !== want?.sum) mismatches.push(`${key}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  }
  // The target is about killed workers; graceful stops are reported on their own.
  const killed = rounds.filter((r) => r.scenario !== 'graceful');
  const graceful = rounds.filter((r) => r.scenario === 'graceful').flatMap((r) => r.recoveryMs);
  const recoveries = killed.flatMap((r) => r.recoveryMs);
  const detects = killed.flatMap((r) => (r.detectMs === null ? [] : [r.detectMs]));
  const maxMs = Math.max(...recoveries);
  return {
    recoveryP50Ms: median(recoveries), recoveryMaxMs: maxMs, detectP50Ms: detects.length > 0 ? median(detects) : null,
    gracefulMaxMs: graceful.length > 0 ? Math.max(...graceful) : null, byScenario: byScenario(rounds),
    kills: killed.length, movedPartitions: recoveries.length, rounds,
    exact: mismatches.length === 0, mismatchedKeys: mismatches.length, mismatchExamples: mismatches.slice(0, 10),
    keys: traffic.counts.size, eventsSent: traffic.sent, duplicatesSent: traffic.duplicates,
    settings: {
      rate: o.eventsPerSecond, keys: o.keys, partitions: PARTITIONS, sessionTimeoutMs: world.config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: world.config.kafka.heartbeatIntervalMs, instanceIds: o.withoutInstanceIds === true ? 'no' : 'yes', node: process.version,
    },
    target: { maxRecoveryMs: TARGET_MAX_RECOVERY_MS }, targetMet: maxMs <= TARGET_MAX_RECOVERY_MS,
    measuredAt: new Date().toISOString(),
  };
}
