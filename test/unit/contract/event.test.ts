import { describe, expect, it } from 'vitest';
import { eventJsonSchema, validateEvent } from '../../../src/contract/event.ts';
import { decodeEvent, encodeEvent } from '../../../src/contract/wire.ts';

const NOW = Date.UTC(2026, 0, 2);
const opts = { nowMs: NOW, maxFutureSkewMs: 300_000 };
const good = {
  event_id: 'e-1',
  ts_ms: NOW - 1000,
  user_id: 'u_1',
  merchant_id: 'm_1',
  amount: -12.5,
  currency: 'usd',
  country: 'VN',
  status: 'captured',
  metadata: { channel: 'app' },
};

describe('validateEvent', () => {
  it('cleanses: abs amount, upper-case currency, default USD', () => {
    const r = validateEvent(good, opts);
    expect(r).toEqual({ ok: true, event: { ...good, amount: 12.5, currency: 'USD' } });
    const { currency: _c, ...noCurrency } = good;
    const r2 = validateEvent(noCurrency, opts);
    expect(r2.ok && r2.event.currency).toBe('USD');
  });

  it.each([
    [{ ...good, amount: '12' }, 'amount', 'expected number, got string'],
    [{ ...good, amount: Number.POSITIVE_INFINITY }, 'amount', 'must be a finite number'],
    [{ ...good, amount: Number.NaN }, 'amount', 'must be a finite number'],
    [{ ...good, ts_ms: 1.5 }, 'ts_ms', 'expected int'],
    [{ ...good, currency: 'XXQ' }, 'currency', 'unknown ISO 4217 currency'],
    [{ ...good, country: 'vn' }, 'country', 'ISO 3166-1'],
    [{ ...good, extra: 1 }, 'extra', 'unknown field'],
    [{ ...good, metadata: { a: { b: 'c' } } }, 'metadata.a', 'expected string, got object'],
    [{ ...good, ts_ms: NOW + 300_001 }, 'ts_ms', 'in the future'],
    [JSON.parse(`{"event_id":"x","constructor":1}`), 'constructor', 'forbidden key'],
  ])('rejects %# at the right path', (input, path, reason) => {
    const r = validateEvent(input, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.find((e) => e.path === path)?.reason).toContain(reason);
  });

  it('reports required fields', () => {
    const r = validateEvent({}, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path).sort()).toEqual(
        ['amount', 'event_id', 'merchant_id', 'status', 'ts_ms', 'user_id'].sort(),
      );
      expect(new Set(r.errors.map((e) => e.reason))).toEqual(new Set(['required']));
    }
  });
});

describe('wire', () => {
  it('round-trips and keys by merchant', () => {
    const r = validateEvent(good, opts);
    if (!r.ok) throw new Error('unexpected');
    const wire = encodeEvent(r.event, NOW);
    expect(wire.key).toBe('m_1');
    expect(decodeEvent(wire.value)).toEqual({ ...r.event, ingest_received_ms: NOW });
    expect(Object.keys(JSON.parse(wire.value))).toEqual([
      'event_id',
      'ts_ms',
      'user_id',
      'merchant_id',
      'amount',
      'currency',
      'country',
      'status',
      'metadata',
      'ingest_received_ms',
    ]);
  });

  it('rejects a tampered record', () => {
    expect(() => decodeEvent('{"event_id":"x"')).toThrow(/not JSON/);
    expect(() => decodeEvent(JSON.stringify({ ...good, ingest_received_ms: 1, amount: '1' }))).toThrow(
      /amount/,
    );
  });
});

describe('eventJsonSchema', () => {
  it('describes the same contract', () => {
    const s = eventJsonSchema() as { required: string[]; additionalProperties: boolean; properties: object };
    expect(s.additionalProperties).toBe(false);
    expect(s.required.sort()).toEqual(
      ['amount', 'event_id', 'merchant_id', 'status', 'ts_ms', 'user_id'].sort(),
    );
    expect(Object.keys(s.properties)).toHaveLength(10);
  });
});
