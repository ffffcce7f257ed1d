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
