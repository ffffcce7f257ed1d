import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../support/counting-actor.ts';
import { compareWithOracle, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep } from '../support/kafka-fixture.ts';
import { killAllWorkers, type WorkerProcess } from '../support/worker-process.ts';

/**
 * Fault (b): workers join and leave mid-stream — graceful SIGTERM (the member leaves the group)
 * and kill -9 (the member is expired after its 6 s session) mixed — with two or three workers
 * running at a time. The stream arrives in bursts; each membership change happens a random
 * 20–200 ms after a burst was produced, while the workers are busy with it, so partitions are
 * revoked with batches in flight; the next burst waits until the group settled, so every change
 * is its own rebalance. Final states and late dead letters equal the oracle.
 *
 * Rebalances are counted from the workers' logs: each completed rebalance has exactly one
 * leader, which logs its 'assignment' with isLeader.
 */
const SEED = 777;
const BURSTS = 10;
const EVENTS = 120_000;

type Action = (workers: Map<string, WorkerProcess>, start: (name: string) => void) => Promise<void>;

const startAs = (name: string): Action => async (_, start) => start(name);
const term = (name: string): Action => async (workers) => void (await workers.get(name)!.stop());
const kill = (name: string): Action => async (workers) => workers.get(name)!.kill9();

/** Membership change after each burst: [description, action]. Two or three workers run at any time. */
const SCRIPT: readonly (readonly [string, Action])[] = [
  ['start C', startAs('C')], // A B C
  ['SIGTERM A', term('A')], // B C
  ['start D', startAs('D')], // B C D
  ['kill -9 B', kill('B')], // C D
  ['start E', startAs('E')], // C D E
  ['SIGTERM C', term('C')], // D E
  ['start F', startAs('F')], // D E F
  ['kill -9 D', kill('D')], // E F
  ['kill -9 E, start G', async (w, s) => { await kill('E')(w, s); s('G'); }], // F G
  ['SIGTERM F, start H', async (w, s) => { await term('F')(w, s); s('H'); }], // G H
];

/**
 * Waits until the rebalance after a change completed: every live worker logged an assignment
 * after `since`, and their latest assignments cover the partitions exactly once.
 */
async function waitStable(workers: Map<string, WorkerProcess>, since: number): Promise<number> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const latest = [...workers.values()].filter((w) => w.alive).map((w) => w.records.filter((r) => r.msg === 'assignment').at(-1));
    const fresh = latest.every((r) => r !== undefined && Date.parse(String(r.time)) >= since);
    const owned = latest.flatMap((r) => (r?.partitions as number[] | undefined) ?? []);
    if (fresh && owned.length === 12 && new Set(owned).size === 12) return Date.now() - since;
    await sleep(100);
  }
  throw new Error('the group did not settle within 45 s');
}

describe('fault: workers added and removed mid-stream', () => {
  afterAll(killAllWorkers);

  it('ends exact through rebalances from joins, graceful leaves and kill -9', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_rebalance', latenessMs: FAULT_LATENESS_MS });
    const rand = prng(SEED);
    const workers = new Map<string, WorkerProcess>();
    const start = (name: string) => void workers.set(name, fixture.startWorker({ RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '200' }));
    const done: string[] = [];
    let passed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const bursts = placeStream(stream, BURSTS);
      start('A');
      start('B');
      await Promise.all([...workers.values()].map((w) => w.waitRunning()));
      for (const [i, burst] of bursts.entries()) {
        await fixture.produce(burst);
        await sleep(20 + Math.floor(rand() * 180));
        const [what, action] = SCRIPT[i]!;
        const progress = await fixture.progress();
        const at = Date.now();
        await action(workers, start);
        const tookMs = await waitStable(workers, at);
        done.push(`${what} at ${progress} (stable after ${tookMs} ms)`);
      }
      await fixture.waitCaughtUp(120_000);

      const result = await compareWithOracle(fixture, stream);
      expect(result.mismatches).toEqual([]);
      expect(result.mismatchCount).toBe(0);
      expect(result.keys).toBe(result.expected.counts.size);
      expect(result.expected.duplicates).toBeGreaterThan(EVENTS * 0.03);
      expect(result.lateLetters).toBe(result.expected.late);

      const all = [...workers.values()];
      const rebalances = all.flatMap((w) => w.records).filter((r) => r.msg === 'assignment' && r.isLeader === true).length;
      const assignments = all.flatMap((w) => w.records).filter((r) => r.msg === 'assignment').length;
      const claims = all.flatMap((w) => w.records).filter((r) => r.msg === 'partition claimed').length;
      const refused = all.reduce((n, w) => n + w.count('commit refused: partition lost'), 0);
      expect(rebalances).toBeGreaterThanOrEqual(8);
      console.log(
        `[fault b] ${rebalances} rebalances (${assignments} member assignments, ${claims} partition claims, ` +
          `${refused} commits refused); changes: ${done.join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      passed = true;
    } finally {
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; changes: ${done.join('; ')}`);
    }
  }, 240_000);
});
