import { describe, expect, it } from 'vitest';
import {
  auc,
  logLoss,
  precisionAtFraction,
  precisionAtK,
  recallAtFraction,
} from '../../../src/analytics/metrics.ts';
import { createRng } from '../../../src/analytics/prng.ts';

function bruteAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

/** Brute-force precision@k: average over every tie-breaking order = exact expectation by enumeration of tied picks. */
function brutePrecision(scores: number[], labels: number[], k: number): number {
  const order = scores.map((s, i) => ({ s, l: labels[i]! })).sort((a, b) => b.s - a.s);
  const cut = order[k - 1]!.s;
  const above = order.filter((o) => o.s > cut);
  const tied = order.filter((o) => o.s === cut);
  const need = k - above.length;
  // expected positives drawn when choosing `need` of the tied items uniformly = need * share
  const share = tied.filter((o) => o.l === 1).length / tied.length;
  return (above.filter((o) => o.l === 1).length + need * share) / k;
}

describe('metrics', () => {
  it('AUC equals the pairwise definition on random data with many ties', () => {
    for (let seed = 0; seed < 30; seed++) {
      const rng = createRng(seed);
      const n = 5 + rng.int(300);
      const labels = Array.from({ length: n }, () => (rng.chance(0.2) ? 1 : 0));
      if (!labels.includes(1) || !labels.includes(0)) continue;
      // few distinct values: lots of ties, also across classes
      const scores = labels.map((l) => Math.round((rng.next() + 0.3 * l) * (seed % 3 === 0 ? 5 : 1000)) / 10);
      expect(auc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
    }
  });

  it('AUC edge cases', () => {
    expect(auc([1, 2, 3], [0, 0, 1])).toBe(1);
    expect(auc([3, 2, 1], [0, 0, 1])).toBe(0);
    expect(auc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
    expect(auc([1, 2], [0, 0])).toBeNaN();
    expect(() => auc([1], [2])).toThrow(RangeError);
    expect(() => auc([1, 2], [1])).toThrow(RangeError);
  });

  it('precision@k matches the expectation over tie orders and is order independent', () => {
    const rng = createRng(8);
    for (let t = 0; t < 50; t++) {
      const n = 10 + rng.int(200);
      const labels = Array.from({ length: n }, () => (rng.chance(0.3) ? 1 : 0));
      const scores = labels.map(() => rng.int(8));
      const k = 1 + rng.int(n);
      const p = precisionAtK(scores, labels, k);
      expect(p).toBeCloseTo(brutePrecision(scores, labels, k), 12);
      const perm = scores.map((_, i) => i);
      createRng(t).shuffle(perm);
      expect(
        precisionAtK(
          perm.map((i) => scores[i]!),
          perm.map((i) => labels[i]!),
          k,
        ),
      ).toBeCloseTo(p, 12);
    }
    expect(precisionAtK([0.9, 0.8, 0.1], [1, 0, 1], 2)).toBe(0.5);
    expect(precisionAtFraction([0.9, 0.8, 0.1, 0.2], [1, 0, 1, 0], 0.25)).toBe(1);
    expect(recallAtFraction([0.9, 0.8, 0.1, 0.2], [1, 0, 1, 0], 0.5)).toBe(0.5);
    expect(() => precisionAtK([1], [1], 2)).toThrow(RangeError);
  });

  it('log loss', () => {
    expect(logLoss([0.5, 0.5], [0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-9);
  });
});
