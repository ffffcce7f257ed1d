import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../support/counting-actor.ts';
import { compareWithOracle, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep } from '../support/kafka-fixture.ts';
import { killAllWorkers, type WorkerProcess } from '../support/worker-process.ts';

/**
 * Fault (a): kill -9 the worker at random points, restart it each time, and the final state of
 * every key still equals the brute-force oracle; the late DLQ holds exactly the oracle's late
 * events (counted by source position: a crash between outbox drain and ack re-emits some).
 *
 * Kill points are seeded. Most kills wait for the new worker to durably process a random number
 * of events (500–6,000 from the restart) plus a random 0–100 ms, so they land anywhere in the
 * fetch → load → commit → drain cycle with a backlog still to go ("mid-stream" is asserted per
 * kill). Some kills hit a worker still starting or joining the group. A small mailbox (1,000)
 * gives many commits per fetched batch. Each restart waits out the dead member's 6 s session.
 */
const SEED = 20_240_611;
const EVENTS = 200_000;
const MID_STREAM_KILLS = 11;

interface Kill {
  readonly worker: string;
  readonly phase: 'starting' | 'processing';
  readonly progress: number;
}

describe('fault: kill -9 at random points', () => {
  afterAll(killAllWorkers);

  it('ends exact after ≥ 10 kills mid-stream with restarts', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_kill9', latenessMs: FAULT_LATENESS_MS });
    const rand = prng(SEED);
    const kills: Kill[] = [];
    let passed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const producing = fixture.produce(placeStream(stream)[0]!);
      const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '1000' };

      while (kills.filter((k) => k.phase === 'processing').length < MID_STREAM_KILLS) {
        const worker = fixture.startWorker(env);
        const phase = kills.length > 0 && rand() < 0.2 ? 'starting' : 'processing';
        if (phase === 'starting') await sleep(300 + Math.floor(rand() * 2_500));
        else await waitForProgress(fixture, worker, 500 + Math.floor(rand() * 5_500));
        await sleep(Math.floor(rand() * 100));
        const progress = await fixture.progress();
        expect(progress, 'a kill must land before the stream is fully processed').toBeLessThan(EVENTS);
        await worker.kill9();
        expect((await worker.exited).signal).toBe('SIGKILL');
        kills.push({ worker: worker.spec.name, phase, progress });
      }
      await producing;

      const last = fixture.startWorker(env);
      await last.waitRunning();
      await fixture.waitCaughtUp(120_000);
      const result = await compareWithOracle(fixture, stream);
      expect(result.mismatches).toEqual([]);
      expect(result.mismatchCount).toBe(0);
      expect(result.keys).toBe(result.expected.counts.size);
      expect(result.expected.duplicates).toBeGreaterThan(EVENTS * 0.03);
      expect(result.expected.late).toBeGreaterThan(EVENTS * 0.005);
      expect(result.lateLetters).toBe(result.expected.late);
      expect(kills.filter((k) => k.phase === 'processing').length).toBeGreaterThanOrEqual(10);
      console.log(
        `[fault a] ${kills.length} kills (${kills.filter((k) => k.phase === 'starting').length} while starting), ` +
          `progress at kills: ${kills.map((k) => k.progress).join(', ')}; ` +
          `${result.expected.counts.size} keys, ${result.expected.duplicates} duplicates, ${result.expected.late} late ` +
          `(${result.lateRecords} late records for ${result.lateLetters} distinct); ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      passed = true;
    } finally {
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; kills: ${JSON.stringify(kills)}`);
    }
  }, 240_000);
});

/** Waits until the worker has durably processed `events` more events than when it started. */
async function waitForProgress(fixture: FaultFixture, worker: WorkerProcess, events: number): Promise<void> {
  await worker.waitRunning();
  const base = await fixture.progress();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await fixture.progress()) >= base + events) return;
    if (!worker.alive) throw new Error(`worker ${worker.spec.name} died; log: ${worker.logFile}`);
    await sleep(10);
  }
  throw new Error(
    `worker ${worker.spec.name} made no progress of ${events} events in 60 s; log: ${worker.logFile}`,
  );
}
