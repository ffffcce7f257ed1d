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
});
