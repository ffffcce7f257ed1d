import { describe, expect, it } from 'vitest';
import { percentile, summarizeBySlice } from '../../../load-tests/pipeline-http.ts';

describe('summarizeBySlice (bench:pipeline latency over the run)', () => {
  it('puts every sample in the slice of its time and summarises each slice like a brute-force filter', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const start = 1_000;
    const samples: [number, number][] = Array.from({ length: 2_000 }, () => [start + rand() * 23_000, rand() * 500]);
    const slices = summarizeBySlice(samples, start, 5_000);

    expect(slices.map((s) => s.fromSeconds)).toEqual([0, 5, 10, 15, 20]);
    expect(slices.reduce((n, s) => n + s.count, 0)).toBe(samples.length);
    slices.forEach((slice, i) => {
      const mine = samples.filter(([at]) => at - start >= i * 5_000 && at - start < (i + 1) * 5_000).map(([, v]) => v).sort((a, b) => a - b);
      expect(slice.count).toBe(mine.length);
      expect(slice.p99Ms).toBeCloseTo(percentile(mine, 99), 2);
      expect(slice.maxMs).toBeCloseTo(mine.at(-1) as number, 2);
    });
  });

  it('lists empty slices between samples and counts samples before the start in the first', () => {
    const slices = summarizeBySlice([[500, 10], [1_200, 20], [3_500, 30]], 1_000, 1_000);
    expect(slices.map((s) => s.count)).toEqual([2, 0, 1]);
    expect(slices[0]?.maxMs).toBe(20);
    expect(Number.isNaN(slices[1]?.p99Ms)).toBe(true);
    expect(slices[2]?.p50Ms).toBe(30);
  });
});
