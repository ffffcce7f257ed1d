import { afterAll, describe, expect, it } from 'vitest';
import { expectExact, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep } from '../support/kafka-fixture.ts';
import { killStackService, stackPid, startStackService } from '../support/stack-service.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (d): the state store's Redis is killed (kill -9) mid-stream and restarted from its AOF
 * (appendfsync everysec) with `npm run stack -- up redis` 12 s later, while two workers are busy
 * and more input keeps arriving. The workers ride it out (failed batches are retried after a backoff,
 * nothing is committed twice) and the final state equals the oracle.
 *
 * What this can and cannot lose: a kill -9 of redis-server loses nothing acknowledged — Redis
 * write(2)s the AOF buffer before it replies, and the kernel keeps it. `everysec` can lose up to
 * ~1 s (2 s with a stalled fsync) of acknowledged commits only when the machine dies. Both cases
 * end exact: a commit is one script (one MULTI/EXEC in the AOF), so what survives is a prefix
 * of whole commits, offset and state together. A worker whose next commit meets an older stored
 * offset gets `offset_mismatch`, claims again and seeks back to the stored offset (Kafka still
 * has the records), so lost commits are redone from the state they were computed from. Commits
 * in flight when the connection drops either failed (retried) or were applied with the reply
 * lost (the retry meets `offset_mismatch` and re-claims, see above).
 */
const SEED = 99;
const EVENTS = 100_000;
const BURSTS = 10;
/**
 * Longer than the session timeout (6 s): a worker whose batches fail keeps them in its mailbox
 * and retries after a backoff; if the group drops it meanwhile, it rejoins and claims again.
 */
const OUTAGE_MS = 12_000;

describe('fault: Redis killed and restarted mid-stream', () => {
  afterAll(killAllWorkers);

  it('ends exact after a kill -9 and restart of redis-server', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_redis', latenessMs: FAULT_LATENESS_MS });
    const notes: string[] = [];
    let passed = false;
    let killed = false;
    let restarted: Promise<string> | undefined;
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      const bursts = placeStream(stream, BURSTS);
      const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '500' };
      const workers = [fixture.startWorker(env), fixture.startWorker(env)];
      await Promise.all(workers.map((w) => w.waitRunning()));
      for (const [i, burst] of bursts.entries()) {
        if (i === bursts.length - 1) {
          // The last burst goes in only once Redis answers again, so the stream is still in
          // progress across the outage (recovery is fast enough to finish the rest before a read
          // after the restart could see it).
          await restarted;
          const after = await fixture.progress();
          notes.push(`redis restarted as ${stackPid('redis')} at progress ${after}`);
          expect(after).toBeLessThan(EVENTS);
        }
        await fixture.produce(burst);
        if (i === 3) {
          await sleep(60); // the workers are busy with this burst
          killed = true;
          const before = await fixture.progress();
          const pid = await killStackService('redis');
          notes.push(`redis ${pid} killed after burst ${i + 1} at progress ${before}`);
          expect(before).toBeGreaterThan(0);
          restarted = sleep(OUTAGE_MS).then(() => startStackService('redis'));
        }
        await sleep(800);
      }
      await fixture.waitCaughtUp(120_000);

      await expectExact(fixture, stream);
      expect(workers.every((w) => w.alive)).toBe(true);
      const retries = (await Promise.all(workers.map((w) => w.metric('riskstream_runtime_batch_retries_total')))).reduce((a, b) => a + b, 0);
      const rejoins = workers.reduce((n, w) => n + w.count('assignment'), 0) - workers.length;
      const claims = workers.reduce((n, w) => n + w.count('partition claimed'), 0);
      console.log(
        `[fault d] ${notes.join('; ')}; ${retries} batch retries, ${rejoins} group rejoins, ` +
          `${claims} partition claims; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      passed = true;
    } finally {
      // Never leave the shared Redis down: `up` is a no-op when it runs.
      if (killed) await (restarted ?? Promise.resolve('')).catch(() => undefined).then(() => startStackService('redis'));
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; ${notes.join('; ')}`);
    }
  }, 240_000);
});
