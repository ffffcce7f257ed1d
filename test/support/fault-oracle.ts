import { expect } from 'vitest';
import type { Msg } from './counting-actor.ts';
import { DLQ_LATE, type FaultFixture } from './kafka-fixture.ts';
import { type Expected, expectedCounts, makeStream, type StreamOptions } from './stream.ts';
import type { WorkerProcess } from './worker-process.ts';

/**
 * The fault tests' stream shape: 5% duplicates, 10% out-of-order (up to 60 s back, inside the
 * allowed lateness), 1% late (10 minutes back, beyond it). Events are 2 ms apart, so a stream of
 * 100,000 spans 200 s: every duplicate is younger than the 5-minute lateness and must be caught
 * by dedup, not by the lateness check.
 */
export const FAULT_LATENESS_MS = 300_000;

export function faultStream(seed: number, events: number, keys = 5_000, partitions = 12): Map<number, Msg[]> {
  const options: StreamOptions = {
    seed, events, keys, partitions, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000, stepMs: 2,
  };
  return makeStream(options);
}

export interface OracleComparison {
  readonly expected: Expected;
  readonly keys: number;
  /** Keys whose stored state differs from the oracle (first few), `key: got vs want`. */
  readonly mismatches: readonly string[];
  readonly mismatchCount: number;
  /** Distinct late dead letters (by `topic:partition:offset`) and all records on dlq.late. */
  readonly lateLetters: number;
  readonly lateRecords: number;
}

/**
 * Compares what the workers left in Redis and on the late DLQ with the brute-force oracle.
 * Dead letters may be emitted twice after a crash (outbox drained, not yet acknowledged), so
 * they are counted by their key, `topic:partition:offset`.
 */
export async function compareWithOracle(fixture: FaultFixture, stream: Map<number, Msg[]>): Promise<OracleComparison> {
  const expected = expectedCounts(stream, fixture.latenessMs);
  const states = await fixture.readStates();
  const mismatches: string[] = [];
  let mismatchCount = 0;
  const keys = new Set([...expected.counts.keys(), ...states.keys()]);
  for (const key of keys) {
    const got = states.get(key);
    const want = expected.counts.get(key);
    if (got?.count === want?.count && got?.sum === want?.sum) continue;
    mismatchCount += 1;
    if (mismatches.length < 10) mismatches.push(`${key}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  }
  const late = await fixture.readDeadLetters(DLQ_LATE);
  return {
    expected, keys: states.size, mismatches, mismatchCount,
    lateLetters: new Set(late.map((l) => l.key)).size, lateRecords: late.length,
  };
}

/**
 * The assertions every fault test ends with: each key's stored count and sum equal the oracle's,
 * no key is missing or extra, and every late event has exactly one dead letter (by its key).
 */
export async function expectExact(fixture: FaultFixture, stream: Map<number, Msg[]>): Promise<OracleComparison> {
  const result = await compareWithOracle(fixture, stream);
  expect(result.mismatches).toEqual([]);
  expect(result.mismatchCount).toBe(0);
  expect(result.keys).toBe(result.expected.counts.size);
  expect(result.lateLetters).toBe(result.expected.late);
  return result;
}

/** The errors of the batches the workers retried (their 'batch failed' log records), in log order. */
export function batchFailures(workers: readonly WorkerProcess[]): { code: string; message: string }[] {
  return workers.flatMap((w) => w.records).filter((r) => r.msg === 'batch failed; retrying after a backoff').map((r) => {
    const err = r.err as { code?: unknown; message?: unknown } | undefined;
    return { code: String(err?.code ?? 'none'), message: String(err?.message ?? '') };
  });
}

/** What the workers' logs say they went through: kafkajs consumer restarts, group rejoins, claims. */
export function groupActivity(workers: readonly WorkerProcess[]): string {
  const crashes = workers.reduce((n, w) => n + w.count('consumer crashed'), 0);
  const rejoins = workers.reduce((n, w) => n + w.count('assignment'), 0) - workers.length;
  const claims = workers.reduce((n, w) => n + w.count('partition claimed'), 0);
  return `${crashes} consumer restarts, ${rejoins} group rejoins, ${claims} partition claims`;
}
