import { describe, expect, it } from 'vitest';
import { cleanWireEvent } from '../../../src/contract/event-fast.ts';
import { decodeEvent, encodeEvent, validateWireEvent } from '../../../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';

/**
 * The fast check may only decline: whenever it returns an event, the full (zod) validation of
 * the same record must succeed with a byte-identical result. Checked on generated records and on
 * every single-field mutation from a list of edge values.
 */
const traffic = generateTraffic(generatorOptions({ seed: 'fast-decode', events: 2_000 }));
const records = traffic.emissions.map((e) => JSON.parse(encodeEvent(e.event, 1_767_225_600_123).value) as Record<string, unknown>);

function fullResult(v: Record<string, unknown>): string {
  try {
    return JSON.stringify(validateWireEvent(v));
  } catch (err) {
    return `rejected: ${(err as Error).message}`;
  }
}

const EDGE_VALUES: readonly unknown[] = [
  undefined, null, '', 0, -0, -1, 1.5, 1e9, 1e9 + 1, -1e9, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2,
  Number.POSITIVE_INFINITY, 'x', ' ', 'a b', 'x'.repeat(128), 'x'.repeat(129), 'usd', 'USD', 'XXQ', 'EUR', 'VN', 'vn', 'EU', 'ZZ',
  'failed', 'FAILED', 'captured', true, [], ['a'], {}, { a: 'b' }, { a: 1 }, { 'a b': 'c' }, { a: 'x'.repeat(257) },
  { a: 'x'.repeat(256) }, Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
  Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'])), JSON.parse('{"__proto__":"x"}'), { constructor: 'x' },
];
const FIELDS = ['event_id', 'ts_ms', 'user_id', 'merchant_id', 'amount', 'currency', 'country', 'device_id', 'status', 'metadata', 'ingest_received_ms', 'extra', '__proto__'];

function withField(base: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  // JSON.parse semantics: a `__proto__` key is an own property, and undefined means absent.
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  if (value === undefined) delete copy[field];
  else Object.defineProperty(copy, field, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

describe('cleanWireEvent', () => {
  it('takes every record the API writes, with the full validation\'s result', () => {
    for (const r of records) {
      const fast = cleanWireEvent(r);
      expect(fast).toBeDefined();
      expect(JSON.stringify(fast)).toBe(fullResult(r));
    }
  });

  it('never accepts a mutated record the full validation rejects or cleanses differently', () => {
    let accepted = 0;
    let declined = 0;
    for (const base of records.slice(0, 20)) {
      for (const field of FIELDS) {
        for (const value of EDGE_VALUES) {
          const mutated = withField(base, field, value);
          const fast = cleanWireEvent(mutated);
          if (fast === undefined) {
            declined += 1;
            continue;
          }
          accepted += 1;
          expect(JSON.stringify(fast), `${field} = ${JSON.stringify(value)}`).toBe(fullResult(mutated));
        }
      }
    }
    // both branches are exercised
    expect(accepted).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(1_000);
  });

  it.each([
    ['negative amount (cleansed to its absolute value)', 'amount', -12.5, 12.5],
    ['lower-case currency (upper-cased)', 'currency', 'eur', 'EUR'],
    ['no currency (USD)', 'currency', undefined, 'USD'],
  ])('leaves a record that needs cleansing to the full path: %s', (_name, field, value, cleansed) => {
    const mutated = withField(records[0]!, field, value);
    expect(cleanWireEvent(mutated)).toBeUndefined();
    expect(decodeEvent(JSON.stringify(mutated))[field as 'amount' | 'currency']).toBe(cleansed);
  });

  it('decodeEvent still names the field of an invalid record', () => {
    expect(() => decodeEvent(JSON.stringify(withField(records[0]!, 'country', 'vn')))).toThrow(/country: must be an ISO 3166-1/);
    expect(() => decodeEvent(JSON.stringify(withField(records[0]!, 'extra', 1)))).toThrow(/extra: unknown field/);
  });
});
