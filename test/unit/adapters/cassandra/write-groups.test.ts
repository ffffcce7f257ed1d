import { describe, expect, it } from 'vitest';
import { type BoundRow, estimateBytes, groupWrites } from '../../../../src/adapters/cassandra/write-groups.ts';

const row = (table: string, route: string, n: number, pad = 0): BoundRow => ({ table, route, params: [`k${n}`, n, 'x'.repeat(pad)] });

describe('groupWrites', () => {
  it('puts rows of one route together whatever their table, in drain order, and never mixes routes', () => {
    const rows = [row('w', 'a', 1), row('w', 'b', 2), row('s', 'a', 3), row('u', 'a', 4), row('w', 'b', 5)];
    const groups = groupWrites(rows);
    expect(groups.map((g) => g.map((r) => r.params[1]))).toEqual([[1, 3, 4], [2, 5]]);
    for (const g of groups) expect(new Set(g.map((r) => r.route)).size).toBe(1);
  });

  it('keeps every row exactly once and cuts groups at the row and byte limits', () => {
    const rows = Array.from({ length: 25 }, (_, i) => row('w', `r${i % 2}`, i, 100));
    const groups = groupWrites(rows, { maxBytes: 500, maxRows: 3 });
    expect(groups.flat().map((r) => r.params[1]).sort((a, b) => Number(a) - Number(b))).toEqual(rows.map((r) => r.params[1]));
    for (const g of groups) {
      expect(g.length).toBeLessThanOrEqual(3);
      expect(g.reduce((n, r) => n + estimateBytes(r.params), 0)).toBeLessThanOrEqual(500);
    }
    const byBytes = groupWrites(rows, { maxBytes: 300, maxRows: 64 });
    expect(Math.max(...byBytes.map((g) => g.length))).toBe(2);
  });

  it('sends a row larger than the byte limit alone', () => {
    const groups = groupWrites([row('w', 'a', 1, 10_000), row('w', 'a', 2), row('w', 'a', 3)], { maxBytes: 1_000, maxRows: 64 });
    expect(groups.map((g) => g.map((r) => r.params[1]))).toEqual([[1], [2, 3]]);
  });

  it('estimates maps, lists, dates and driver Longs', () => {
    expect(estimateBytes(['ab', 1, new Date(0), { high: 0, low: 1 }])).toBe(4 + (2 + 4) + 8 + 8 + 8);
    expect(estimateBytes({ velocity: 1.5 })).toBe(4 + 8 + 4 + 8);
  });

  it('estimates a blob (the features vector) by its byte length, not byte by byte', () => {
    expect(estimateBytes(Buffer.alloc(130))).toBe(134);
    expect(estimateBytes(['u1', Buffer.alloc(130, 7)])).toBe(4 + (2 + 4) + 134);
  });
});
