import { describe, expect, it } from 'vitest';
import { type ValidateOptions, validateEvent } from '../../../src/contract/event.ts';
import { cleanWireEvent, validateEventFast } from '../../../src/contract/event-fast.ts';
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

/** The zod path's result, serialised with its key order (the wire value depends on it). */
function schemaResult(v: unknown, options: ValidateOptions): string {
  return JSON.stringify(validateEvent(v, options));
}

describe('validateEventFast', () => {
  const options: ValidateOptions = { nowMs: Date.UTC(2030, 0), maxFutureSkewMs: 60_000 };
  const inputs = traffic.emissions.map((e) => JSON.parse(JSON.stringify(e.event)) as Record<string, unknown>);

  it('gives validateEvent\'s result for every generated client event', () => {
    for (const input of inputs) expect(JSON.stringify(validateEventFast(input, options))).toBe(schemaResult(input, options));
  });

  it('gives validateEvent\'s result (cleansed event or field errors) for every single-field mutation', () => {
    let ok = 0;
    let rejected = 0;
    for (const base of inputs.slice(0, 20)) {
      for (const field of [...FIELDS, 'amount']) {
        for (const value of [...EDGE_VALUES, -12.5, -1e9 - 1, 'eur', 'Eur', 'e1r', 'usdx']) {
          const mutated = withField(base, field, value);
          const fast = validateEventFast(mutated, options);
          expect(JSON.stringify(fast), `${field} = ${JSON.stringify(value)}`).toBe(schemaResult(mutated, options));
          if (fast.ok) ok += 1;
          else rejected += 1;
        }
      }
    }
    expect(ok).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1_000);
  });

  it('cleanses like the schema path and still rejects future and non-object events', () => {
    const base = inputs[0]!;
    const cleansed = validateEventFast({ ...base, amount: -0, currency: 'eur' }, options);
    expect(cleansed.ok && [Object.is(cleansed.event.amount, 0), cleansed.event.currency]).toEqual([true, 'EUR']);
    const noCurrency = validateEventFast(withField(base, 'currency', undefined), options);
    expect(noCurrency.ok && noCurrency.event.currency).toBe('USD');
    const future = validateEventFast({ ...base, ts_ms: options.nowMs + 60_001 }, options);
    expect(future).toEqual({ ok: false, errors: [{ path: 'ts_ms', reason: 'more than 60000 ms in the future' }] });
    expect(validateEventFast({ ...base, ts_ms: options.nowMs + 60_000 }, options).ok).toBe(true);
    for (const junk of [null, [], 'x', 1]) expect(JSON.stringify(validateEventFast(junk, options))).toBe(schemaResult(junk, options));
  });
});
