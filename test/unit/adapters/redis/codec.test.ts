import { describe, expect, it } from 'vitest';
import {
  decodeAckReply,
  decodeClaimReply,
  decodeCommitReply,
  decodeOutboxEntry,
  encodeCommitArgs,
} from '../../../../src/adapters/redis/codec.ts';
import { MIN_TIME_MS } from '../../../../src/runtime/store.ts';
import { batch, emit } from '../../../contract/state-store.fixtures.ts';

describe('redis codec', () => {
  it('packs a commit as header, counts and flat sections, last write per state id winning', () => {
    const args = encodeCommitArgs(
      batch(3, '10', '12', {
        states: [
          { id: 'a', value: 'v1:a' },
          { id: 'b', value: 'v1:b' },
          { id: 'a', value: null },
          { id: 'c', value: 'v1:c' },
        ],
        dedup: [{ id: 'e1', eventTimeMs: 100 }],
        dedupPruneBelowMs: 50,
        timersRemove: ['t0'],
        timersAdd: [{ id: 't1', atMs: 1.5 }],
        effects: [emit('x')],
        maxEventTimeMs: 100,
        watermarkMs: -5,
      }),
    );
    expect(args).toEqual([
      '3',
      '10',
      '12',
      '100',
      '-5',
      '50',
      JSON.stringify([emit('x')]),
      '2',
      '1',
      '1',
      '1',
      '1',
      'b',
      'v1:b',
      'c',
      'v1:c',
      'a',
      '100',
      'e1',
      't0',
      '1.5',
      't1',
    ]);
  });

  it('maps Lua status codes to commit results in one place', () => {
    expect(decodeCommitReply([0, '5'])).toEqual({ ok: true, outboxSeq: null });
    expect(decodeCommitReply([7, '5'])).toEqual({ ok: true, outboxSeq: 7 });
    expect(decodeCommitReply([-1, ''])).toEqual({ ok: false, reason: 'fenced', storedOffset: null });
    expect(decodeCommitReply([-2, '42'])).toEqual({
      ok: false,
      reason: 'offset_mismatch',
      storedOffset: '42',
    });
    expect(() => decodeCommitReply([-3, ''])).toThrow(/unexpected/);
    expect(() => decodeCommitReply('OK')).toThrow(/unexpected/);
    expect(decodeAckReply(0)).toBe(true);
    expect(decodeAckReply(-1)).toBe(false);
  });

  it('decodes a claim, with empty strings meaning "never committed"', () => {
    expect(decodeClaimReply([1, '', '', '', [], []])).toEqual({
      epoch: 1,
      nextOffset: null,
      maxEventTimeMs: MIN_TIME_MS,
      watermarkMs: MIN_TIME_MS,
      timers: [],
      outbox: [],
    });
    const entry = `{"seq":4,"effects":${JSON.stringify([emit('y')])}}`;
    expect(decodeClaimReply([2, '9', '100', '40', ['t', '1.1000000000000001'], [entry]])).toEqual({
      epoch: 2,
      nextOffset: '9',
      maxEventTimeMs: 100,
      watermarkMs: 40,
      timers: [{ id: 't', atMs: 1.1 }],
      outbox: [{ seq: 4, effects: [emit('y')] }],
    });
  });

  it('writes a row shared by several upserts once, and decodes it back to the same effects', () => {
    const record = { event_id: 'e1', score: 0.42, reasons: ['velocity'], features: { a: 1 } };
    const other = { merchant_id: 'm', cnt: 3 };
    const effects = [
      { type: 'upsert', sink: 'by_user', row: record },
      emit('scores'),
      { type: 'upsert', sink: 'by_event', row: record },
      { type: 'upsert', sink: 'stats', row: other },
      { type: 'upsert', sink: 'live', row: record },
    ] as const;
    const arg = encodeCommitArgs(batch(1, '0', '1', { effects: [...effects] }))[6]!;
    // The record's JSON appears once, not three times.
    expect(arg.split('"event_id"').length - 1).toBe(1);
    const decoded = decodeOutboxEntry(`{"seq":7,"effects":${arg}}`);
    expect(decoded).toEqual({ seq: 7, effects: JSON.parse(JSON.stringify(effects)) });
  });

  it('keeps the plain array (the format of older entries) when no row is shared', () => {
    const effects = [emit('a'), { type: 'upsert', sink: 's', row: { k: 1 } } as const];
    const arg = encodeCommitArgs(batch(1, '0', '1', { effects }))[6]!;
    expect(arg).toBe(JSON.stringify(effects));
    expect(decodeOutboxEntry(`{"seq":1,"effects":${arg}}`)).toEqual({ seq: 1, effects });
  });

  it("stores a record once when upserts carry its JSON and an emit's value is that JSON", () => {
    const record = { event_id: 'e"1', user_id: 'u1', ts_ms: 5, score: 0.1 + 0.2, reasons: ['a'], features: { x: -0, y: 1e-7 } };
    const json = JSON.stringify(record);
    const other = { event_id: 'e2', user_id: 'u2', ts_ms: 6 };
    const otherJson = JSON.stringify(other);
    const effects = [
      { type: 'upsert', sink: 'by_user', row: record, json },
      { type: 'upsert', sink: 'live', row: record, json },
      { type: 'emit', topic: 'risk.scores', key: 'u1', value: json },
      { type: 'emit', topic: 'risk.alerts', key: 'u1', value: json },
      emit('unrelated'),
      { type: 'upsert', sink: 'by_user', row: other, json: otherJson },
      { type: 'emit', topic: 'risk.scores', key: 'u2', value: otherJson },
      // same content as the last row, but a different string than its JSON: stored as it is
      { type: 'emit', topic: 'risk.scores', key: 'u1', value: `${json} ` },
    ] as const;
    const arg = encodeCommitArgs(batch(1, '0', '1', { effects: [...effects] }))[6]!;
    expect(arg.split('user_id').length - 1).toBe(3); // two rows, and the one emit that differs
    const decoded = decodeOutboxEntry(`{"seq":3,"effects":${arg}}`);
    const withoutJson = effects.map((e) => (e.type === 'upsert' ? { type: e.type, sink: e.sink, row: e.row } : e));
    expect(decoded).toEqual({ seq: 3, effects: JSON.parse(JSON.stringify(withoutJson)) });
    // emits get back the very same strings (a record is JSON.stringify output, which round-trips)
    const values = decoded.effects.flatMap((e) => (e.type === 'emit' ? [e.value] : []));
    expect(values).toEqual(effects.flatMap((e) => (e.type === 'emit' ? [e.value] : [])));
  });

  it('uses the shared shape for a single upsert with JSON, and decodes entries of every older shape', () => {
    const row = { k: 1 };
    const arg = encodeCommitArgs(batch(1, '0', '1', { effects: [{ type: 'upsert', sink: 's', row, json: '{"k":1}' }] }))[6]!;
    expect(arg).toBe('{"rows":[{"k":1}],"list":[{"type":"upsert","sink":"s","rowRef":0}]}');
    // rowRef entries whose emits carry the value themselves (before valueRef)
    const older =
      '{"seq":2,"effects":{"rows":[{"a":1}],"list":[{"type":"upsert","sink":"s","rowRef":0},{"type":"emit","topic":"t","key":"k","value":"{\\"a\\":1}"}]}}';
    expect(decodeOutboxEntry(older)).toEqual({
      seq: 2,
      effects: [
        { type: 'upsert', sink: 's', row: { a: 1 } },
        { type: 'emit', topic: 't', key: 'k', value: '{"a":1}' },
      ],
    });
    expect(() => decodeOutboxEntry('{"seq":1,"effects":{"rows":[],"list":[{"type":"emit","topic":"t","key":"k","valueRef":0}]}}')).toThrow(/row 0 of 0/);
  });
});
