import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../../src/adapters/memory/sink.ts';
import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { ActorHost } from '../../../src/runtime/host.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';
import { Mailboxes, type MailboxControl } from '../../../src/runtime/mailbox.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import type { InputRecord } from '../../../src/runtime/source.ts';
import { type CommitBatch, type CommitResult, stateId } from '../../../src/runtime/store.ts';
import { type CountState, type Msg, testPipeline } from '../../support/counting-actor.ts';
import { expectedCounts, makeStream, toRecords } from '../../support/stream.ts';

const LATENESS = 120_000;
const REF = { group: 'g', topic: 'test.input' };

/** A memory store that counts commits and can fail the next N of them. */
class FlakyStore extends MemoryStateStore {
  commits: number[] = [];
  failNext = 0;
  override async commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('store unavailable (injected)');
    }
    const result = await super.commit(batch);
    if (result.ok) this.commits.push(Number(batch.nextOffset) - Number(batch.fromOffset));
    return result;
  }
}

/** A store whose commits wait at a closed gate; `reached` resolves when one does. */
class GatedStore extends FlakyStore {
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #reached: (() => void) | undefined;
  reached: Promise<void> = Promise.resolve();
  closeGate(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
    this.reached = new Promise((resolve) => {
      this.#reached = resolve;
    });
  }
  openGate(): void {
    this.#gate = undefined;
    this.#open?.();
  }
  override async commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.#gate) {
      this.#reached?.();
      await this.#gate;
    }
    return super.commit(batch);
  }
}

class RecordingControl implements MailboxControl {
  readonly events: string[] = [];
  pause(p: number) {
    this.events.push(`pause ${p}`);
  }
  resume(p: number) {
    this.events.push(`resume ${p}`);
  }
  seek(p: number, offset: string) {
    this.events.push(`seek ${p} ${offset}`);
  }
  fatal(err: unknown) {
    this.events.push(`fatal ${String(err)}`);
  }
}

function setUp(store: MemoryStateStore, capacity: number) {
  const host = new ActorHost<Msg>({
    pipeline: testPipeline(), ...REF, store, sink: new MemorySink(), clock: () => 1_800_000_000_000,
    settings: { allowedLatenessMs: LATENESS, handlerRetries: 1, maxBatchRecords: 500, idlePartitionMs: 1_000, maxActiveActors: 1_000 },
    metrics: createRuntimeMetrics(new Registry()), logger: silentLogger(),
  });
  const control = new RecordingControl();
  const mailboxes = new Mailboxes({ host, control, capacity, logger: silentLogger(), sleep: async () => undefined });
  return { host, control, mailboxes };
}

async function settle(mailboxes: Mailboxes<Msg>, partitions: number[]): Promise<void> {
  await mailboxes.idle();
  for (const p of partitions) expect(mailboxes.depth(p)).toBe(0);
}

async function counts(store: MemoryStateStore, partitions: number[], keys: number): Promise<Map<string, CountState>> {
  const out = new Map<string, CountState>();
  for (const partition of partitions) {
    const ids = Array.from({ length: keys }, (_, i) => stateId('counter', `k${i}`));
    (await store.loadStates({ ...REF, partition }, ids)).forEach((v, i) => {
      if (v) out.set(`k${i}`, JSON.parse(v.slice(v.indexOf(':') + 1)) as CountState);
    });
  }
  return out;
}

function chunks(records: InputRecord[], size: number): InputRecord[][] {
  const out: InputRecord[][] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}

describe('Mailboxes', () => {
  const options = { seed: 5, events: 6_000, keys: 120, partitions: 2, duplicateRate: 0.05, outOfOrderRate: 0.1, lateRate: 0.01, lateByMs: 600_000 };

  it('merges what arrives during a commit into one batch and ends equal to a brute-force pass', async () => {
    const stream = makeStream(options);
    const expected = expectedCounts(stream, LATENESS);
    const store = new FlakyStore();
    const { mailboxes } = setUp(store, 100_000);
    await mailboxes.onAssignment([0, 1]);
    // Offered in small fetches all at once, as a fetch loop that never waits would.
    let offered = 0;
    for (const [p, msgs] of stream) {
      for (const chunk of chunks(toRecords(p, msgs), 7)) {
        mailboxes.offer(p, chunk);
        offered += 1;
      }
    }
    await settle(mailboxes, [0, 1]);
    expect(await counts(store, [0, 1], options.keys)).toEqual(expected.counts);
    // One commit per partition for the first fetch, then everything queued meanwhile in one.
    expect(store.commits.length).toBeLessThan(offered / 10);
    expect(store.commits.reduce((a, b) => a + b, 0)).toBe(options.events);
  });

  it('makes an offer wait while the mailbox is full, until its loop takes the queue', async () => {
    const store = new FlakyStore();
    const { mailboxes, control } = setUp(store, 50);
    await mailboxes.onAssignment([0]);
    const records = toRecords(0, makeStream({ ...options, partitions: 1, events: 300 }).get(0)!);
    const [first, ...rest] = chunks(records, 20);
    const settled: boolean[] = [];
    const offer = (chunk: InputRecord[]) => {
      const i = settled.push(false) - 1;
      return mailboxes.offer(0, chunk).then(() => {
        settled[i] = true;
      });
    };
    // The first is taken at once; the next three queue behind it (20, 40, 60 ≥ 50: the third waits).
    const offers = [first!, ...rest.slice(0, 3)].map(offer);
    await Promise.resolve();
    expect(settled).toEqual([true, true, true, false]);
    expect(mailboxes.depth(0)).toBe(60);
    await Promise.all(offers);
    for (const chunk of rest.slice(3)) await offer(chunk);
    await settle(mailboxes, [0]);
    expect(settled.every(Boolean)).toBe(true);
    expect(control.events).toEqual([]);
    expect(store.commits.reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('retries a failed batch with its records (nothing lost or doubled)', async () => {
    const stream = makeStream({ ...options, partitions: 1 });
    const expected = expectedCounts(stream, LATENESS);
    const store = new FlakyStore();
    store.failNext = 3;
    const { mailboxes, control } = setUp(store, 100_000);
    await mailboxes.onAssignment([0]);
    for (const chunk of chunks(toRecords(0, stream.get(0)!), 500)) mailboxes.offer(0, chunk);
    await settle(mailboxes, [0]);
    expect(store.failNext).toBe(0);
    expect(control.events).toEqual([]);
    expect(await counts(store, [0], options.keys)).toEqual(expected.counts);
  });

  it('asks the driver to seek when the records start past the durable position, and drops them', async () => {
    const store = new FlakyStore();
    const { mailboxes, control } = setUp(store, 100_000);
    await mailboxes.onAssignment([0]);
    const records = toRecords(0, makeStream({ ...options, partitions: 1, events: 200 }).get(0)!);
    mailboxes.offer(0, records.slice(0, 100));
    await settle(mailboxes, [0]);
    // A fresh owner of the same store (durable position 100) is offered records from 150 on.
    const other = setUp(store, 100_000);
    await other.mailboxes.onAssignment([0]);
    other.mailboxes.offer(0, records.slice(150));
    await settle(other.mailboxes, [0]);
    expect(other.control.events).toEqual(['seek 0 100']);
    expect(other.mailboxes.depth(0)).toBe(0);
    expect(control.events).toEqual([]);
  });

  it('drops and pauses a fenced partition until the next assignment', async () => {
    const store = new FlakyStore();
    const a = setUp(store, 100_000);
    await a.mailboxes.onAssignment([0]);
    const records = toRecords(0, makeStream({ ...options, partitions: 1, events: 300 }).get(0)!);
    a.mailboxes.offer(0, records.slice(0, 100));
    await settle(a.mailboxes, [0]);
    const b = setUp(store, 100_000);
    await b.mailboxes.onAssignment([0]); // raises the epoch: A is a zombie now
    a.mailboxes.offer(0, records.slice(100, 200));
    await settle(a.mailboxes, [0]);
    expect(a.control.events).toEqual(['pause 0']);
    a.mailboxes.offer(0, records.slice(200));
    expect(a.mailboxes.depth(0)).toBe(0);
    expect(store.commits).toEqual([100]);
    await a.mailboxes.onAssignment([0]);
    expect(a.control.events).toEqual(['pause 0', 'resume 0']);
  });

  /**
   * A processed records 0–99 of partition 0, then B claimed it (A's epoch is stale), and A's
   * batch of records 100–199 waits at its commit: a batch of A's old assignment in flight.
   */
  async function oldBatchInFlight() {
    const stream = makeStream({ ...options, partitions: 1, events: 300 });
    const records = toRecords(0, stream.get(0)!);
    const store = new GatedStore();
    const a = setUp(store, 100_000);
    await a.mailboxes.onAssignment([0]);
    a.mailboxes.offer(0, records.slice(0, 100));
    await settle(a.mailboxes, [0]);
    const b = setUp(store, 100_000);
    await b.mailboxes.onAssignment([0]);
    store.closeGate();
    a.mailboxes.offer(0, records.slice(100, 200));
    await store.reached;
    return { store, a, b, records, expected: expectedCounts(stream, LATENESS).counts };
  }

  it('does not pause a partition given back while a batch of the old assignment found it lost', async () => {
    // Found by test/fault/kafka-restart.test.ts: after a broker restart A rejoined late; B had
    // claimed A's partitions meanwhile, and the next rebalance gave them back to A while A's
    // old batch was still in flight. That batch was refused (stale epoch) after the new
    // assignment, and marking the partition lost then stalled it until the next rebalance.
    const { store, a, b, records, expected } = await oldBatchInFlight();
    await b.mailboxes.onAssignment([]);
    const assigned = a.mailboxes.onAssignment([0]); // the partition comes back to A
    store.openGate(); // the old batch's commit is refused now, after the new assignment
    await assigned;
    a.mailboxes.offer(0, records.slice(200));
    await settle(a.mailboxes, [0]);
    expect(a.control.events).toEqual([]);
    expect(store.commits.reduce((x, y) => x + y, 0)).toBe(300);
    expect(await counts(store, [0], options.keys)).toEqual(expected);
  });

  it('drops, and never claims, a partition moved away while a batch of the old assignment ran', async () => {
    const { store, a, b, records, expected } = await oldBatchInFlight();
    const assigned = a.mailboxes.onAssignment([]); // B keeps the partition
    store.openGate(); // refused: A is fenced, and no longer assigned the partition
    await assigned;
    await settle(a.mailboxes, [0]);
    b.mailboxes.offer(0, records.slice(100));
    await settle(b.mailboxes, [0]);
    expect(b.control.events).toEqual([]); // B was never fenced by a claim of A's
    expect(store.commits.reduce((x, y) => x + y, 0)).toBe(300);
    expect(await counts(store, [0], options.keys)).toEqual(expected);
  });
});
