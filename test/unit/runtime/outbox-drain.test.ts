import { describe, expect, it } from 'vitest';
import type { OutputEffect } from '../../../src/runtime/actor.ts';
import { OutboxDrain } from '../../../src/runtime/outbox-drain.ts';
import type { EffectSink } from '../../../src/runtime/sink.ts';

/** A sink whose every perform waits for `release()`. */
class GatedSink implements EffectSink {
  performed: OutputEffect[] = [];
  #gates: (() => void)[] = [];
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    await new Promise<void>((resolve) => this.#gates.push(resolve));
    this.performed.push(...effects);
  }
  release(): void {
    for (const open of this.#gates.splice(0)) open();
  }
  async close(): Promise<void> {}
}

const effects = (n: number, tag: string): OutputEffect[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'emit', topic: 'out', key: tag, value: `${tag}${i}` }));
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('OutboxDrain bounds', () => {
  it('waits while the undrained effects exceed the bound, and counts them down as rounds are acknowledged', async () => {
    const sink = new GatedSink();
    const acked: number[] = [];
    const drain = new OutboxDrain({
      sink,
      ack: async (seq) => {
        acked.push(seq);
        return true;
      },
    });
    drain.enqueue({ seq: 1, effects: effects(10, 'a') });
    drain.enqueue({ seq: 2, effects: effects(10, 'b') });
    expect(drain.undrainedEffects).toBe(20);
    let done = false;
    const waiting = drain.waitUntilAtMost(5, 15).then(() => {
      done = true;
    });
    await tick();
    expect(done).toBe(false); // 2 entries ≤ 5, but 20 effects > 15
    sink.release(); // round 1 (entry 1) goes out
    await tick();
    expect(acked).toEqual([1]);
    expect(drain.undrainedEffects).toBe(10);
    await waiting;
    expect(done).toBe(true);
    sink.release();
    await drain.waitUntilAtMost(0);
    expect(drain.undrainedEffects).toBe(0);
    expect(sink.performed.map((e) => (e.type === 'emit' ? e.value : ''))).toEqual([...effects(10, 'a'), ...effects(10, 'b')].map((e) => (e.type === 'emit' ? e.value : '')));
  });

  it('lets a single entry larger than the bound through once it is drained (no deadlock)', async () => {
    const sink = new GatedSink();
    const drain = new OutboxDrain({ sink, ack: async () => true });
    drain.enqueue({ seq: 1, effects: effects(50, 'big') });
    const waiting = drain.waitUntilAtMost(2, 10);
    await tick();
    sink.release();
    await waiting;
    expect(drain.undrained).toBe(0);
    expect(drain.undrainedEffects).toBe(0);
  });
});

describe('OutboxDrain deferred acknowledgements', () => {
  it('acknowledges at most once per interval, always the highest performed seq, and everything in the end', async () => {
    const acked: number[] = [];
    const sink: EffectSink = { perform: async () => {}, close: async () => {} };
    const drain = new OutboxDrain({ sink, ack: async (seq) => (acked.push(seq), true), ackIntervalMs: 40 });
    for (let seq = 1; seq <= 30; seq += 1) {
      drain.enqueue({ seq, effects: effects(1, `e${seq}`) });
      await drain.waitUntilAtMost(0);
    }
    expect(drain.undrained).toBe(0);
    expect(acked[0]).toBe(1); // the first round is acknowledged at once
    expect(acked.length).toBeLessThan(30); // the others waited for the interval
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(acked[acked.length - 1]).toBe(30); // the timer acknowledged the rest
    expect([...acked].sort((a, b) => a - b)).toEqual(acked); // never backwards
  });

  it('acknowledges what was performed when stopped, and reports a refused timed acknowledgement as fenced', async () => {
    const acked: number[] = [];
    let refuse = false;
    const sink: EffectSink = { perform: async () => {}, close: async () => {} };
    const drain = new OutboxDrain({ sink, ack: async (seq) => (refuse ? false : (acked.push(seq), true)), ackIntervalMs: 10_000 });
    drain.enqueue({ seq: 1, effects: effects(1, 'a') });
    await drain.waitUntilAtMost(0);
    drain.enqueue({ seq: 2, effects: effects(1, 'b') }, { seq: 3, effects: effects(1, 'c') });
    await drain.waitUntilAtMost(0);
    expect(acked).toEqual([1]);
    await drain.stop();
    expect(acked).toEqual([1, 3]);

    const fenced = new OutboxDrain({ sink, ack: async () => !refuse, ackIntervalMs: 5 });
    fenced.enqueue({ seq: 1, effects: effects(1, 'a') });
    await fenced.waitUntilAtMost(0);
    refuse = true;
    fenced.enqueue({ seq: 2, effects: effects(1, 'b') });
    await fenced.waitUntilAtMost(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fenced.fenced).toBe(true);
  });
});

describe('OutboxDrain timed acknowledgements', () => {
  it('acknowledges the last round even when its timer fires while an older ack is still in flight', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const performed: OutputEffect[] = [];
    const sink: EffectSink = { perform: async (e) => void performed.push(...e), close: async () => undefined };
    const acked: number[] = [];
    let ackDelayMs = 0;
    const drain = new OutboxDrain({
      sink,
      ackIntervalMs: 50,
      ack: async (seq) => {
        await sleep(ackDelayMs);
        acked.push(seq);
        return true;
      },
    });
    drain.enqueue({ seq: 1, effects: effects(1, 'a') }); // acknowledged at once (first ack)
    await sleep(5);
    drain.enqueue({ seq: 2, effects: effects(1, 'b') }); // within 50 ms: left to a timer
    await sleep(5);
    ackDelayMs = 120; // the timer's ack (seq 2) is slow...
    await sleep(60);
    drain.enqueue({ seq: 3, effects: effects(1, 'c') }); // ...and this round's timer fires while it is in flight
    await sleep(400);
    expect(performed).toHaveLength(3);
    expect(acked.at(-1)).toBe(3);
    await drain.stop();
  });
});
