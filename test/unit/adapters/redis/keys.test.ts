import { describe, expect, it } from 'vitest';
import {
  assertValidKeyPrefix,
  partitionKeys,
  partitionTag,
  prefixPattern,
} from '../../../../src/adapters/redis/keys.ts';

/** Redis Cluster's hash tag rule: the text between the first '{' and the next '}', if non-empty. */
function clusterHashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('redis keys', () => {
  it('lays out the five keys of a partition under one hash tag', () => {
    const keys = partitionKeys('rs', { group: 'workers', topic: 'payments.events', partition: 7 });
    expect(keys).toEqual({
      meta: 'rs:{workers|payments.events|7}:meta',
      state: 'rs:{workers|payments.events|7}:state',
      dedup: 'rs:{workers|payments.events|7}:dedup',
      timers: 'rs:{workers|payments.events|7}:timers',
      outbox: 'rs:{workers|payments.events|7}:outbox',
    });
    expect(new Set(Object.values(keys).map(clusterHashTag))).toEqual(new Set(['workers|payments.events|7']));
  });

  it('escapes separators and braces so refs stay distinct and the tag stays whole', () => {
    const a = partitionTag({ group: 'a|b', topic: 'c', partition: 0 });
    const b = partitionTag({ group: 'a', topic: 'b|c', partition: 0 });
    expect(a).not.toBe(b);
    const braces = partitionKeys('p', { group: 'g}x{', topic: '%7C', partition: 1 });
    expect(braces.meta).toBe('p:{g%7Dx%7B|%257C|1}:meta');
    expect(clusterHashTag(braces.meta)).toBe('g%7Dx%7B|%257C|1');
  });

  it('refuses prefixes with braces and supports the empty prefix', () => {
    expect(() => assertValidKeyPrefix('a{b')).toThrow();
    expect(() => assertValidKeyPrefix('test:run-1')).not.toThrow();
    expect(partitionKeys('', { group: 'g', topic: 't', partition: 0 }).meta).toBe('{g|t|0}:meta');
  });

  it('builds SCAN patterns with glob characters escaped', () => {
    expect(prefixPattern('test:1')).toBe('test:1:*');
    expect(prefixPattern('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\:*');
  });
});
