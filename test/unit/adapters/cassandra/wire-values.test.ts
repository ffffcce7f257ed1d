import cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { bigintBytes, textListBytes } from '../../../../src/adapters/cassandra/wire-values.ts';

const { Long } = cassandra.types;

// The oracle is the driver's own conversion of a number bound to a bigint/timestamp column.
const driver = (n: number): Buffer => (Long as unknown as { toBuffer(l: cassandra.types.Long): Buffer }).toBuffer(Long.fromNumber(n));

describe('bigintBytes (pre-encoded CQL bigint)', () => {
  it('encodes exactly as the driver does, for the values the sink binds and the edges', () => {
    const values = [
      0, 1, -1, 255, 256, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, -(2 ** 32),
      1_767_225_600_000, 1_767_225_600_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 12.9, -12.9, 0.5, -0.5, Number.NaN, -0,
    ];
    let x = 1;
    for (let i = 0; i < 2000; i++) {
      x = (x * 48271) % 2147483647;
      values.push((x - 1e9) * (i % 7 === 0 ? 4_000_001 : i % 3 === 0 ? 1.37 : 1));
    }
    for (const v of values) expect([v, bigintBytes(v).toString('hex')]).toEqual([v, driver(v).toString('hex')]);
  });

  it('refuses values a double cannot hold exactly instead of rounding them', () => {
    expect(() => bigintBytes(2 ** 53)).toThrow(RangeError);
    expect(() => bigintBytes(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('textListBytes (pre-encoded CQL list<text>)', () => {
  // The driver's own encoder (exported, though not in its typings).
  const encoder = new (cassandra as unknown as { Encoder: new (v: number, o: object) => { encode(v: unknown, t: unknown): Buffer | null } }).Encoder(4, {});
  const listOfText = { code: cassandra.types.dataTypes.list, info: { code: cassandra.types.dataTypes.text } };
  const driverList = (items: string[]): Buffer | null => encoder.encode(items, listOfText);

  it('encodes exactly as the driver does, multi-byte UTF-8 and empty items included', () => {
    const lists = [['velocity_1h_count_high'], ['a', 'b', 'c'], [''], ['ünïcødé', '支付', '🙂', 'x'.repeat(300)], ['amount_zscore_high', 'new_device', 'graph_ring_score_high']];
    for (const items of lists) expect(textListBytes(items)?.toString('hex')).toBe(driverList(items)?.toString('hex'));
  });

  it('sends an empty list as null, as the driver does (no change to the cells written)', () => {
    expect(textListBytes([])).toBeNull();
    expect(driverList([])).toBeNull();
  });

  it('refuses a non-string item', () => {
    expect(() => textListBytes(['a', 3 as unknown as string])).toThrow(TypeError);
  });
});
