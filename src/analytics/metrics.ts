/**
 * Detection-quality metrics for model selection and the quality report (PRODUCT §5, §7).
 * Labels are 0/1 (1 = fraud); higher scores mean riskier.
 */

function check(scores: readonly number[], labels: readonly number[]): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  for (const l of labels) if (l !== 0 && l !== 1) throw new RangeError(`labels must be 0 or 1, got ${l}`);
}

/**
 * Area under the ROC curve via the Mann–Whitney U statistic, with average ranks for ties (so a
 * tie between a fraud and a legit event counts one half, as in the pairwise definition).
 * O(n log n). Returns NaN when either class is absent (AUC is undefined there).
 */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  check(scores, labels);
  const idx = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[idx[k] as number] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Precision among the k highest scores. Ties straddling the cut are resolved by expectation (as
 * if broken at random): deterministic, and independent of input order.
 */
export function precisionAtK(scores: readonly number[], labels: readonly number[], k: number): number {
  check(scores, labels);
  if (!Number.isInteger(k) || k < 1 || k > scores.length) {
    throw new RangeError(`k must be an integer in [1, ${scores.length}], got ${k}`);
  }
  const sorted = [...scores].sort((a, b) => b - a);
  const cut = sorted[k - 1] as number;
  let above = 0;
  let posAbove = 0;
  let tied = 0;
  let posTied = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (s > cut) {
      above++;
      posAbove += labels[i] as number;
    } else if (s === cut) {
      tied++;
      posTied += labels[i] as number;
    }
  }
  return (posAbove + ((k - above) * posTied) / tied) / k;
}

/** Precision among the top `fraction` of scores (at least one). */
export function precisionAtFraction(
  scores: readonly number[],
  labels: readonly number[],
  fraction: number,
): number {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${fraction}`);
  return precisionAtK(scores, labels, Math.max(1, Math.ceil(fraction * scores.length)));
}

/** Recall among the top `fraction` of scores: share of all frauds caught there. */
export function recallAtFraction(
  scores: readonly number[],
  labels: readonly number[],
  fraction: number,
): number {
  const k = Math.max(1, Math.ceil(fraction * scores.length));
  const positives = labels.reduce((a, b) => a + b, 0);
  return positives === 0 ? Number.NaN : (precisionAtK(scores, labels, k) * k) / positives;
}

/** Mean negative log-likelihood, probabilities clamped to [1e-12, 1 − 1e-12]. */
export function logLoss(probabilities: readonly number[], labels: readonly number[]): number {
  check(probabilities, labels);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, probabilities[i] as number));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}
