import { describe, expect, it } from 'vitest';
import { ActorCache } from '../../../src/runtime/actor-cache.ts';

describe('ActorCache admission', () => {
  it('caches a committed state from its key second commit on, and keeps updating it', () => {
    const cache = new ActorCache(100);
    cache.setAll(0, new Map([['counter\u0000a', { n: 1 }]]));
    expect(cache.has(0, 'counter\u0000a')).toBe(false);
    cache.setAll(0, new Map([['counter\u0000a', { n: 2 }]]));
    expect(cache.peek(0, 'counter\u0000a')).toEqual({ n: 2 });
    cache.setAll(0, new Map([['counter\u0000a', { n: 3 }]]));
    expect(cache.peek(0, 'counter\u0000a')).toEqual({ n: 3 });
    expect(cache.size).toBe(1);
  });

  it('never caches keys committed once, however many', () => {
    const cache = new ActorCache(100);
    for (let i = 0; i < 10_000; i += 1) cache.setAll(i % 4, new Map([[`counter\u0000k${i}`, i]]));
    expect(cache.size).toBe(0);
  });

  it('stays within its bound, evicting least recently committed states first', () => {
    const cache = new ActorCache(100);
    const ids = Array.from({ length: 300 }, (_, i) => `counter\u0000k${i}`);
    for (let round = 0; round < 2; round += 1) for (const id of ids) cache.setAll(0, new Map([[id, round]]));
    cache.passivate();
    expect(cache.size).toBe(100);
    expect(ids.filter((id) => cache.has(0, id))).toEqual(ids.slice(200));
  });
});

describe('ActorCache byte bound', () => {
  const id = (i: number) => `user\u0000u${i}`;
  /** Commits every id twice (admission), each with the given encoded size. */
  function fill(cache: ActorCache, partition: number, ids: readonly string[], size: (id: string) => number): void {
    for (let round = 0; round < 2; round += 1) {
      for (const one of ids) cache.setAll(partition, new Map([[one, round]]), new Map([[one, size(one)]]));
    }
  }

  it('evicts least recently committed states until their encoded bytes fit, whatever the count bound', () => {
    const cache = new ActorCache(1_000_000, 10_000);
    const ids = Array.from({ length: 100 }, (_, i) => id(i));
    fill(cache, 0, ids, () => 500); // 50,000 bytes in 100 states
    expect(cache.bytes).toBe(50_000);
    cache.passivate();
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.size).toBe(cache.bytes / 500);
    // exactly the most recent ones stay
    expect(ids.filter((one) => cache.has(0, one))).toEqual(ids.slice(100 - cache.size));
    expect(cache.size).toBe(20);
    expect(cache.passivated).toBe(80);
  });

  it('counts a state again at its new size when it is committed again, and forgets a dropped partition', () => {
    const cache = new ActorCache(1_000, 1_000_000);
    fill(cache, 1, [id(1), id(2)], () => 100);
    fill(cache, 2, [id(3)], () => 40);
    expect(cache.bytes).toBe(240);
    cache.setAll(1, new Map([[id(1), 'bigger']]), new Map([[id(1), 700]]));
    expect(cache.bytes).toBe(840);
    cache.dropPartition(1);
    expect([cache.bytes, cache.size]).toEqual([40, 1]);
    cache.setAll(2, new Map([[id(3), undefined]]), new Map([[id(3), 0]])); // a deleted state weighs nothing
    expect(cache.bytes).toBe(0);
  });

  it('spreads evictions over partitions and keeps the byte total equal to the sum of what it holds', () => {
    const cache = new ActorCache(1_000_000, 30_000);
    const sizes = new Map<string, number>();
    for (let p = 0; p < 4; p += 1) {
      const ids = Array.from({ length: 200 }, (_, i) => `user\u0000p${p}-${i}`);
      for (const [i, one] of ids.entries()) sizes.set(one, 50 + ((i * 37 + p * 11) % 200));
      fill(cache, p, ids, (one) => sizes.get(one)!);
    }
    cache.passivate();
    let held = 0;
    const perPartition = [0, 0, 0, 0];
    for (const [one, bytes] of sizes) {
      const p = Number(one.slice(6, 7));
      if (cache.has(p, one)) {
        held += bytes;
        perPartition[p]! += 1;
      }
    }
    expect(cache.bytes).toBe(held);
    expect(held).toBeLessThanOrEqual(30_000);
    expect(held).toBeGreaterThan(30_000 * 0.8); // not far below: evictions stop once within the bound
    for (const n of perPartition) expect(n).toBeGreaterThan(0);
  });
});
