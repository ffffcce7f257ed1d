import { afterAll, describe, expect, it } from 'vitest';
import { expectExact, groupActivity, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep, twoWorkersWithBacklog } from '../support/kafka-fixture.ts';
import { pauseStackService, resumeStackService, type StackService } from '../support/stack-service.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (g): the Kafka broker, or Redis, is frozen (SIGSTOP) for longer than the consumer
 * session timeout while two workers are busy with a backlog, then resumed (SIGCONT). Unlike a
 * kill, the frozen service keeps its sockets open and answers nothing, so every request in
 * flight hangs instead of failing, and it comes back with its memory as it was: a broker that
 * resumes finds the members' sessions expired and rebalances the group (and is briefly fenced by
 * its own controller: no partition has a leader until it registers again); a Redis that resumes
 * answers the commits that waited. Nothing may be lost or counted twice, and no worker may exit.
 */
const SEED = 5_151;
const EVENTS = 100_000;
const BURSTS = 10;
/**
 * Longer than the consumers' 6 s session timeout, and than the broker's 9 s session with its
 * own KRaft controller: a resumed broker is fenced by its controller and its partitions are
 * leaderless until it registers again.
 */
const PAUSE_MS = 12_000;
const PAUSE_AFTER = 5;

describe.each<StackService>(['kafka', 'redis'])('fault: %s frozen (SIGSTOP) mid-stream', (service) => {
  afterAll(killAllWorkers);

  it(`ends exact after ${PAUSE_MS / 1000} s of a frozen ${service}`, async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: `fault_pause_${service}`, latenessMs: FAULT_LATENESS_MS });
    const notes: string[] = [];
    let passed = false;
    let pausedPid: number | undefined;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const bursts = placeStream(stream, BURSTS);
      const workers = await twoWorkersWithBacklog(fixture, bursts, PAUSE_AFTER);
      const produced = (PAUSE_AFTER * EVENTS) / BURSTS;
      const before = await fixture.progress();
      pausedPid = pauseStackService(service);
      notes.push(`${service} ${pausedPid} frozen at progress ${before} of ${produced} produced`);
      expect(before).toBeLessThan(produced);
      await sleep(PAUSE_MS);
      resumeStackService(pausedPid);
      pausedPid = undefined;
      for (const burst of bursts.slice(PAUSE_AFTER)) {
        await fixture.produce(burst);
        await sleep(300);
      }
      await fixture.waitCaughtUp(150_000);

      await expectExact(fixture, stream);
      expect(workers.map((w) => w.alive)).toEqual([true, true]);
      console.log(`[fault g ${service}] ${notes.join('; ')}; ${groupActivity(workers)}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
      passed = true;
    } finally {
      // Never leave the shared service frozen.
      if (pausedPid !== undefined) resumeStackService(pausedPid);
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; ${notes.join('; ')}`);
    }
  }, 300_000);
});
