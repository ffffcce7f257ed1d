import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, harness } from './harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h.app.close());

const post = (payload: string | object, contentType = 'application/json', url = '/v1/events') =>
  h.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${h.ingestKey}`, 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

const { event_id: _omit, ...withoutId } = event();
const longId = 'a'.repeat(129);
const manyKeys = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));

// [name, raw body, expected status, expected path, reason substring]
const cases: [string, string, number, string, string][] = [
  ['missing field', JSON.stringify(withoutId), 400, 'event_id', 'required'],
  ['extra field', JSON.stringify(event({ foo: 1 })), 400, 'foo', 'unknown field'],
  [
    'wrong type (user_id number)',
    JSON.stringify(event({ user_id: 7 })),
    400,
    'user_id',
    'expected string, got number',
  ],
  [
    '"12" for a number',
    JSON.stringify(event({ amount: '12' })),
    400,
    'amount',
    'expected number, got string',
  ],
  [
    'ts_ms as string',
    JSON.stringify(event({ ts_ms: String(Date.UTC(2026, 0, 1)) })),
    400,
    'ts_ms',
    'expected number, got string',
  ],
  ['ts_ms fractional', JSON.stringify(event({ ts_ms: 1.5 })), 400, 'ts_ms', 'expected int'],
  ['NaN literal', JSON.stringify(event()).replace('42.5', 'NaN'), 400, '', 'invalid JSON'],
  ['Infinity literal', JSON.stringify(event()).replace('42.5', 'Infinity'), 400, '', 'invalid JSON'],
  [
    '1e309 (overflows to Infinity)',
    JSON.stringify(event()).replace('42.5', '1e309'),
    400,
    'amount',
    'must be a finite number',
  ],
  ['huge amount', JSON.stringify(event({ amount: 1e9 + 1 })), 400, 'amount', '<=1000000000'],
  ['huge negative amount', JSON.stringify(event({ amount: -2e9 })), 400, 'amount', '>=-1000000000'],
  ['currency not 3 letters', JSON.stringify(event({ currency: 'US' })), 400, 'currency', 'must be 3 letters'],
  ['unknown currency', JSON.stringify(event({ currency: 'QQQ' })), 400, 'currency', 'unknown ISO 4217'],
  ['bad country', JSON.stringify(event({ country: 'XX' })), 400, 'country', 'ISO 3166-1'],
  ['lower-case country', JSON.stringify(event({ country: 'sg' })), 400, 'country', 'ISO 3166-1'],
  ['bad status', JSON.stringify(event({ status: 'pending' })), 400, 'status', 'expected one of'],
  ['status null', JSON.stringify(event({ status: null })), 400, 'status', 'expected one of'],
  ['id with spaces', JSON.stringify(event({ event_id: 'a b' })), 400, 'event_id', 'must match'],
  ['id with unicode', JSON.stringify(event({ user_id: 'üser' })), 400, 'user_id', 'must match'],
  ['id with quotes', JSON.stringify(event({ merchant_id: `m"1'` })), 400, 'merchant_id', 'must match'],
  [
    'id with CQL/SQL',
    JSON.stringify(event({ event_id: "x'; DROP TABLE events; --" })),
    400,
    'event_id',
    'must match',
  ],
  ['id over 128 chars', JSON.stringify(event({ device_id: longId })), 400, 'device_id', '<=128'],
  ['empty id', JSON.stringify(event({ event_id: '' })), 400, 'event_id', '>=1'],
  [
    '__proto__ key',
    JSON.stringify(event()).replace('{', '{"__proto__":{"admin":true},'),
    400,
    '__proto__',
    'forbidden key',
  ],
  [
    'constructor key',
    JSON.stringify(event()).replace('{', '{"constructor":{"prototype":1},'),
    400,
    'constructor',
    'forbidden key',
  ],
  [
    '__proto__ in metadata',
    JSON.stringify(event()).replace('"channel"', '"__proto__":"x","channel"'),
    400,
    'metadata.__proto__',
    'forbidden key',
  ],
  [
    'deep metadata',
    JSON.stringify(event({ metadata: { a: { b: { c: 'd' } } } })),
    400,
    'metadata.a',
    'expected string, got object',
  ],
  [
    'metadata with 33 keys',
    JSON.stringify(event({ metadata: manyKeys })),
    400,
    'metadata',
    'at most 32 keys',
  ],
  [
    'metadata value 257 chars',
    JSON.stringify(event({ metadata: { k: 'v'.repeat(257) } })),
    400,
    'metadata.k',
    '<=256',
  ],
  [
    'metadata number value',
    JSON.stringify(event({ metadata: { n: 1 } })),
    400,
    'metadata.n',
    'expected string, got number',
  ],
  [
    'metadata key with space',
    JSON.stringify(event({ metadata: { 'a b': 'x' } })),
    400,
    'metadata.a b',
    'metadata key must match',
  ],
  ['empty body', '', 400, '', 'empty body'],
  ['non-JSON body', 'hello, world', 400, '', 'invalid JSON'],
  ['array to single endpoint', JSON.stringify([event()]), 400, '', 'expected object, got array'],
  [
    'ts_ms beyond future skew',
    JSON.stringify(event({ ts_ms: Date.UTC(2026, 2, 1, 12) + 300_001 })),
    400,
    'ts_ms',
    'in the future',
  ],
  ['negative ts_ms', JSON.stringify(event({ ts_ms: -1 })), 400, 'ts_ms', '>=0'],
];

describe('bad input table: single event endpoint', () => {
  it.each(cases)('%s', async (_name, body, status, path, reason) => {
    const before = h.sink.sends.length;
    const res = await post(body);
    expect(res.statusCode).toBe(status);
    const json = res.json() as { details: { path: string; reason: string }[]; requestId: string };
    const hit = json.details.find((d) => d.path === path);
    expect(hit, JSON.stringify(json.details)).toBeDefined();
    expect(hit!.reason).toContain(reason);
    expect(json.requestId).toMatch(/[0-9a-f-]{36}/);
    expect(res.headers['x-request-id']).toBe(json.requestId);
    expect(h.sink.sends.length).toBe(before); // nothing reached Kafka
  });

  it('cleanses instead of rejecting: negative amount → abs, lower-case currency → upper, default USD', async () => {
    const { currency: _c, ...noCurrency } = event({ event_id: 'neg-1', amount: -17.25 });
    const r1 = await post(noCurrency);
    const r2 = await post(event({ event_id: 'low-1', currency: 'eur' }));
    expect([r1.statusCode, r2.statusCode]).toEqual([202, 202]);
    const sent = h.sink.values().filter((v) => v.event_id === 'neg-1' || v.event_id === 'low-1');
    expect(sent.map((v) => [v.event_id, v.amount, v.currency])).toEqual([
      ['neg-1', 17.25, 'USD'],
      ['low-1', 42.5, 'EUR'],
    ]);
    expect(sent[0]!.ingest_received_ms).toBe(h.clock.now);
  });
});
