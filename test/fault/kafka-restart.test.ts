import { afterAll, describe, expect, it } from 'vitest';
import { expectExact, groupActivity, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep, twoWorkersWithBacklog } from '../support/kafka-fixture.ts';
import { killStackService, stackPid, startStackService, untilOk } from '../support/stack-service.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (f): the Kafka broker (the whole single-node KRaft cluster) is killed (kill -9) while
 * two workers are busy with a backlog, and started again 8 s later; it recovers its logs after
 * the unclean stop. The rest of the stream is produced once it answers again.
 *
 * What the workers go through: fetches, heartbeats and offset commits fail; records already in
 * a mailbox are still processed and committed to Redis (state and position do not need Kafka);
 * outbox drains (the late DLQ) fail and retry; the consumer rejoins the group on the restarted
 * coordinator and resumes from the positions stored in Redis. Nothing may be lost or counted
 * twice, and no worker may exit: a broker restart is routine maintenance, not a fatal error.
 */
const SEED = 4_242;
const EVENTS = 100_000;
const BURSTS = 10;
/** Longer than the 6 s session timeout: the group coordinator restarts without the members. */
const OUTAGE_MS = 8_000;
/** Bursts produced before the kill. */
const KILL_AFTER = 5;

describe('fault: Kafka killed and restarted mid-stream', () => {
  afterAll(killAllWorkers);

  it('ends exact after a kill -9 and restart of the broker', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_kafka', latenessMs: FAULT_LATENESS_MS });
    const notes: string[] = [];
    let passed = false;
    let killed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const bursts = placeStream(stream, BURSTS);
      // The backlog is mostly still in Kafka when the broker dies: the workers must fetch it
      // again from the restarted broker.
      const workers = await twoWorkersWithBacklog(fixture, bursts, KILL_AFTER);
      const produced = (KILL_AFTER * EVENTS) / BURSTS;
      const before = await fixture.progress();
      const pid = await killStackService('kafka');
      killed = true;
      const killedAt = Date.now();
      notes.push(`kafka ${pid} killed at progress ${before} of ${produced} produced`);
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(produced);
      const restarted = sleep(OUTAGE_MS).then(() => startStackService('kafka'));
      // While the broker is down: what was fetched is still processed and committed to Redis.
      await sleep(OUTAGE_MS / 2);
      const during = await fixture.progress();
      await restarted;
      await untilOk(() => fixture.highWatermarks(), 60_000);
      notes.push(`progress ${during} while down; restarted as ${stackPid('kafka')} after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
      // The rest goes in once the broker answers again.
      for (const burst of bursts.slice(KILL_AFTER)) {
        await fixture.produce(burst);
        await sleep(300);
      }
      await fixture.waitCaughtUp(150_000);

      await expectExact(fixture, stream);
      expect(workers.map((w) => w.alive)).toEqual([true, true]);
      console.log(`[fault f] ${notes.join('; ')}; ${groupActivity(workers)}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
      passed = true;
    } finally {
      // Never leave the shared broker down: `up` is a no-op when it runs.
      if (killed) await startStackService('kafka');
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; ${notes.join('; ')}`);
    }
  }, 300_000);
});
