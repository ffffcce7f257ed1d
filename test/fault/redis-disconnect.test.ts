import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../support/counting-actor.ts';
import { batchFailures, expectExact, FAULT_LATENESS_MS, faultStream, groupActivity } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, REDIS_URL, sleep } from '../support/kafka-fixture.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (h): every Redis connection of the workers is cut (CLIENT KILL TYPE normal) every
 * 50–250 ms (≥ 10 times) while the workers work off a backlog and Redis itself stays up.
 * ioredis reconnects and re-sends the commands that had no reply yet, so a commit script that
 * Redis ran before the cut arrives a second time; the store must refuse it (its offset check: `offset_mismatch`, stored offset =
 * the batch's next offset) and the partition must claim again and go on from the stored
 * position, never applying the batch twice. Test files run one at a time, so the cuts only hit
 * this test's workers (and its own reading client, which reconnects too). The stream is
 * produced at once, so the workers are busy with a backlog when the cuts land.
 */
const SEED = 7_373;
const EVENTS = 200_000;
/** Cuts land every 50–250 ms while the backlog lasts (12–21 in local runs). */
const MIN_CUTS = 10;

describe('fault: Redis connections cut mid-stream', () => {
  afterAll(killAllWorkers);

  it(`ends exact after ≥ ${MIN_CUTS} cuts of every worker connection`, async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_redis_cut', latenessMs: FAULT_LATENESS_MS });
    const admin = new Redis(REDIS_URL);
    admin.on('error', () => undefined);
    const rand = prng(SEED);
    const cuts: string[] = [];
    let passed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '500' };
      const workers = [fixture.startWorker(env), fixture.startWorker(env)];
      await Promise.all(workers.map((w) => w.waitRunning()));
      // All at once: the workers work through a backlog, so cuts land on commits in flight.
      const producing = fixture.produce(placeStream(stream)[0]!);
      // Cut until the backlog is worked off (a deadline guards against a stalled worker).
      const deadline = Date.now() + 150_000;
      while (Date.now() < deadline) {
        await sleep(50 + Math.floor(rand() * 200));
        const progress = await fixture.progress();
        if (progress >= EVENTS) break;
        const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
        cuts.push(`${killed}@${progress}`);
      }
      expect(cuts.length).toBeGreaterThanOrEqual(MIN_CUTS);
      await producing;
      await fixture.waitCaughtUp(150_000);

      await expectExact(fixture, stream);
      expect(workers.map((w) => w.alive)).toEqual([true, true]);
      // Why batches were retried, by error code (OFFSET_MISMATCH: a commit re-sent after it was applied).
      const codes = new Map<string, number>();
      for (const { code } of batchFailures(workers)) codes.set(code, (codes.get(code) ?? 0) + 1);
      console.log(
        `[fault h] ${cuts.length} cuts (connections@progress: ${cuts.join(' ')}); batch retries ${JSON.stringify(Object.fromEntries(codes))}, ` +
          `${groupActivity(workers)}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      passed = true;
    } finally {
      admin.disconnect();
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; cuts ${cuts.join(' ')}`);
    }
  }, 300_000);
});
