import { afterAll, describe, expect, it } from 'vitest';
import { expectExact, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { FaultFixture, placeStream, sleep } from '../support/kafka-fixture.ts';
import { killAllWorkers, type WorkerProcess } from '../support/worker-process.ts';

/**
 * Fault (c): a zombie. Worker A owns every partition and is frozen (SIGSTOP) in the middle of a
 * backlog, with fetched batches in memory. Past its 6 s session B takes the partitions over
 * (claiming them raises their fencing epochs) and processes more. A is thawed (SIGCONT) and
 * goes on with what it held: each of its commits must be refused, and the final state must be
 * the oracle's, i.e. nothing A computed while it was a zombie got in.
 */
const SEED = 4_242;
const EVENTS = 100_000;
const REFUSED = 'commit refused: partition lost';

describe('fault: a frozen worker comes back as a zombie', () => {
  afterAll(killAllWorkers);

  it('refuses every commit of the zombie and ends exact', async () => {
    const started = Date.now();
    const fixture = new FaultFixture({ name: 'fault_zombie', latenessMs: FAULT_LATENESS_MS });
    let passed = false;
    const notes: string[] = [];
    try {
      await fixture.setUp();
      const stream = faultStream(SEED, EVENTS);
      // The backlog goes to partitions 0-5 only: A is frozen busy on those and idle on 6-11, so
      // it also holds ownership of partitions it has nothing in flight for (stale after B's
      // claims); the rest of 6-11 comes after A rejoined.
      const [warmUp = [], second = [], third = []] = placeStream(stream, 3);
      const backlog = [...second, ...third].filter((m) => m.partition < 6);
      const rest = [...second, ...third].filter((m) => m.partition >= 6);
      // A small mailbox: many commits per fetched batch, so A is frozen with work in hand.
      const env = { RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '200' };
      const a = fixture.startWorker(env);
      await a.waitRunning();
      await fixture.produce(warmUp);
      await fixture.waitCaughtUp(60_000);

      // One produce request: A fetches the backlog in big batches (~5,500 records a partition),
      // each committed in slices of 200, so it is frozen with most of its batches unfinished.
      await fixture.produce(backlog, backlog.length);
      const frozenAt = await freezeWhileBusy(fixture, a, warmUp.length, warmUp.length + backlog.length);
      notes.push(`A frozen at ${frozenAt}`);
      const b = fixture.startWorker(env);
      await b.waitRunning();
      // B owns all twelve partitions and commits beyond where A stopped.
      await until(async () => b.count('partition claimed') >= 12 && (await fixture.progress()) > frozenAt + 1_000, 30_000, 'B takes over');
      notes.push(`B took over, progress ${await fixture.progress()}`);

      a.resume();
      await until(async () => a.count(REFUSED) > 0, 30_000, 'a refused commit of A');
      const fenced = await a.metric('riskstream_runtime_fenced_total');
      notes.push(`A refused ${a.count(REFUSED)} commits (fenced_total ${fenced})`);
      expect(fenced).toBeGreaterThan(0);

      await until(async () => a.count('assignment') >= 2, 30_000, 'A rejoined');
      await fixture.produce(rest);
      await fixture.waitCaughtUp(90_000);
      await expectExact(fixture, stream);
      // A rejoined and claimed partitions again (it kept tasks for 6-11 with the old epoch).
      expect(a.records.filter((r) => r.msg === 'partition claimed').length).toBeGreaterThan(12);
      console.log(`[fault c] ${notes.join('; ')}; after A rejoined: A ${a.count(REFUSED)} refused in all; ${((Date.now() - started) / 1000).toFixed(1)} s`);
      passed = true;
    } finally {
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}; ${notes.join('; ')}`);
    }
  }, 240_000);
});

/** SIGSTOPs `worker` once it has durably processed 1,000 events past `from`, before `to`. */
async function freezeWhileBusy(fixture: FaultFixture, worker: WorkerProcess, from: number, to: number): Promise<number> {
  await until(async () => (await fixture.progress()) >= from + 1_000, 30_000, 'A busy with the backlog');
  worker.pause();
  const at = await fixture.progress();
  if (at >= to) throw new Error(`A finished the backlog before it was frozen (${at})`);
  return at;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
