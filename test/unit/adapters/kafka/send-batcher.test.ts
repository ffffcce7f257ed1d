import { describe, expect, it } from 'vitest';
import { SendBatcher, type TopicMessages } from '../../../../src/adapters/kafka/send-batcher.ts';

/** A fake produce call that the test completes by hand. */
function controllable() {
  const calls: { batch: TopicMessages<number>; resolve: () => void; reject: (e: Error) => void }[] = [];
  const produce = (batch: TopicMessages<number>) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ batch, resolve, reject });
    });
  return { calls, produce };
}
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const sizes = (batch: TopicMessages<number>) => batch.map((t) => [t.topic, t.messages.length]);

function track(p: Promise<void>) {
  const state = { settled: 'pending' as 'pending' | 'ok' | 'failed' };
  p.then(
    () => (state.settled = 'ok'),
    () => (state.settled = 'failed'),
  );
  return state;
}

describe('SendBatcher', () => {
  it('coalesces sends made while a produce request is in flight into the next one', async () => {
    const f = controllable();
    const b = new SendBatcher({
      lingerMs: 0,
      maxBatchRecords: 1000,
      sendTimeoutMs: 10_000,
      produce: f.produce,
    });
    const first = track(b.send('a', [1, 2]));
    await tick();
    const rest = [track(b.send('a', [3])), track(b.send('b', [4, 5])), track(b.send('a', [6]))];
    await tick();
    expect(f.calls).toHaveLength(1); // one in flight at a time
    f.calls[0]!.resolve();
    await tick();
    expect(first.settled).toBe('ok');
    expect(rest.map((r) => r.settled)).toEqual(['pending', 'pending', 'pending']); // not before their own ack
    expect(f.calls).toHaveLength(2);
    expect(sizes(f.calls[1]!.batch)).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    f.calls[1]!.resolve();
    await tick();
    expect(rest.map((r) => r.settled)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a failed produce rejects every caller in it and none is ever resolved', async () => {
    const f = controllable();
    const b = new SendBatcher({
      lingerMs: 5,
      maxBatchRecords: 1000,
      sendTimeoutMs: 10_000,
      produce: f.produce,
    });
    const callers = [track(b.send('a', [1])), track(b.send('a', [2, 3]))];
    await tick(20);
    expect(f.calls).toHaveLength(1); // lingered into one request
    f.calls[0]!.reject(new Error('broker down'));
    await tick();
    expect(callers.map((c) => c.settled)).toEqual(['failed', 'failed']);
    expect(b.lastFailureMs).toBeGreaterThan(0);
  });

  it('never splits a caller across requests and respects maxBatchRecords', async () => {
    const f = controllable();
    const b = new SendBatcher({ lingerMs: 0, maxBatchRecords: 4, sendTimeoutMs: 10_000, produce: f.produce });
    void b.send('a', [0]);
    await tick();
    void b.send('a', [1, 2, 3]);
    void b.send('a', [4, 5]);
    void b.send('a', [6, 7, 8, 9, 10]); // bigger than the limit: goes alone
    f.calls[0]!.resolve();
    await tick();
    f.calls[1]!.resolve();
    await tick();
    f.calls[2]!.resolve();
    await tick();
    expect(f.calls.map((c) => c.batch[0]!.messages)).toEqual([[0], [1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]);
  });

  it('a caller that timed out is rejected and stays rejected even if its request later succeeds', async () => {
    const f = controllable();
    const b = new SendBatcher({ lingerMs: 0, maxBatchRecords: 100, sendTimeoutMs: 30, produce: f.produce });
    const slow = track(b.send('a', [1]));
    await tick(60);
    expect(slow.settled).toBe('failed');
    const queued = track(b.send('a', [2])); // waits behind the stuck request
    f.calls[0]!.resolve();
    await tick();
    expect(slow.settled).toBe('failed');
    f.calls[1]!.resolve();
    await tick();
    expect(queued.settled).toBe('ok');
    expect(b.lastFailureMs).toBe(0);
  });

  it('holds nothing of acknowledged callers: settled groups are let go at once, not at the next deadline', async () => {
    const f = controllable();
    const b = new SendBatcher({ lingerMs: 0, maxBatchRecords: 3, sendTimeoutMs: 60_000, produce: f.produce });
    const sent = Array.from({ length: 10 }, (_, i) => track(b.send('a', [i, i, i])));
    expect(b.waitingGroups).toBe(10);
    for (let i = 0; i < 10; i += 1) {
      while (f.calls.length <= i) await tick();
      f.calls[i]!.resolve();
      await tick();
      expect(b.waitingGroups, `after request ${i + 1}`).toBe(9 - i); // long before the 60 s deadline
    }
    expect(sent.every((s) => s.settled === 'ok')).toBe(true);
    // a caller behind a slow one is kept until the slow one settles, then both go
    const slow = track(b.send('a', [1, 1, 1]));
    const fast = track(b.send('a', [2]));
    expect(b.waitingGroups).toBe(2);
    f.calls[10]!.resolve();
    await tick();
    while (f.calls.length <= 11) await tick();
    f.calls[11]!.resolve();
    await tick();
    expect([slow.settled, fast.settled, b.waitingGroups]).toEqual(['ok', 'ok', 0]);
  });

  it('times each caller out at its own deadline, whatever settled before it', async () => {
    const f = controllable();
    const b = new SendBatcher({ lingerMs: 0, maxBatchRecords: 1, sendTimeoutMs: 400, produce: f.produce });
    const first = track(b.send('a', [1])); // in flight, answered in time
    await tick(50);
    const second = track(b.send('a', [2])); // queued behind it, never answered
    f.calls[0]!.resolve();
    await tick(200); // ~250 ms after the first send: before either deadline
    expect(first.settled).toBe('ok');
    expect(second.settled).toBe('pending');
    await tick(300); // past the second's deadline (~450 ms)
    expect(second.settled).toBe('failed');
    expect(b.lastFailureMs).toBeGreaterThan(0);
  });
});
