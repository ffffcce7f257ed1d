import type { Prng } from './prng.ts';
import type { DraftEvent } from './types.ts';

/**
 * Emission schedule (pure): each draft gets an emission time in event-time terms; the
 * stream is the stable sort by it. Invariants (checked by tests):
 * - on time: emitted at its own ts, so no earlier emission has a larger ts;
 * - out of order: emitted 1 s – 4 min after its ts (never late under any lateness ≥ 5 min);
 * - late: emitted ≥ allowedLateness + 30 min after its ts, and only once ≥ 3 h of event
 *   time have passed since the start (every partition has seen traffic by then);
 * - duplicate: an exact copy emitted 0–30 s after its original (never of a late event).
 */
export interface ScheduleOptions {
  readonly startMs: number;
  readonly allowedLatenessMs: number;
  readonly duplicateRate: number;
  readonly outOfOrderRate: number;
  readonly lateRate: number;
}

export interface Slot {
  /** Index into the draft array. */
  readonly draft: number;
  readonly emitAtMs: number;
  readonly kind: 'on_time' | 'out_of_order' | 'late' | 'duplicate';
  /** For duplicates: the slot index (in creation order) of the original. */
  readonly original?: number;
}

const MINUTE_MS = 60_000;
export const LATE_MARGIN_MS = 30 * MINUTE_MS;
export const LATE_WARMUP_MS = 3 * 60 * MINUTE_MS;

/** `drafts` must be sorted by ts_ms. */
export function schedule(rng: Prng, drafts: readonly DraftEvent[], options: ScheduleOptions): Slot[] {
  const n = drafts.length;
  const lastTs = drafts.reduce((m, d) => Math.max(m, d.ts_ms), 0);
  const lateShiftMin = options.allowedLatenessMs + LATE_MARGIN_MS;
  // Late: plain base events whose late emission still lands inside the run.
  const lateEligible: number[] = [];
  drafts.forEach((d, i) => {
    const plain = d.pattern === null && d.anomaly === null;
    if (
      plain &&
      d.ts_ms >= options.startMs + LATE_WARMUP_MS &&
      d.ts_ms + lateShiftMin + LATE_MARGIN_MS < lastTs - MINUTE_MS
    ) {
      lateEligible.push(i);
    }
  });
  const late = new Set(
    rng.sample(lateEligible.length, Math.round(n * options.lateRate)).map((k) => lateEligible[k]!),
  );
  const oooEligible = drafts
    .map((d, i) => (d.pattern === null && !late.has(i) ? i : -1))
    .filter((i) => i >= 0);
  const ooo = new Set(
    rng.sample(oooEligible.length, Math.round(n * options.outOfOrderRate)).map((k) => oooEligible[k]!),
  );
  // A late event is emitted right after an on-time anchor event whose ts is far enough ahead,
  // so the stream's clock at its emission provably exceeds ts + lateness + 30 min.
  const anchor = (target: number): number | undefined => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (drafts[mid]!.ts_ms < target) lo = mid + 1;
      else hi = mid;
    }
    while (lo < n && (late.has(lo) || ooo.has(lo))) lo += 1;
    return lo < n ? drafts[lo]!.ts_ms : undefined;
  };
  const slots: Slot[] = drafts.map((d, i) => {
    const lateAt = late.has(i) ? anchor(d.ts_ms + lateShiftMin + rng.int(0, LATE_MARGIN_MS)) : undefined;
    if (lateAt !== undefined) return { draft: i, emitAtMs: lateAt, kind: 'late' };
    if (ooo.has(i))
      return { draft: i, emitAtMs: d.ts_ms + rng.int(1_000, 4 * MINUTE_MS), kind: 'out_of_order' };
    return { draft: i, emitAtMs: d.ts_ms, kind: 'on_time' };
  });
  const dupEligible = slots.map((s, i) => (s.kind === 'late' ? -1 : i)).filter((i) => i >= 0);
  for (const k of rng.sample(dupEligible.length, Math.round(n * options.duplicateRate))) {
    const original = dupEligible[k]!;
    const o = slots[original]!;
    slots.push({ draft: o.draft, emitAtMs: o.emitAtMs + rng.int(0, 30_000), kind: 'duplicate', original });
  }
  return slots;
}

/**
 * Slot indices in emission order. Ties: on-time slots first (a late event follows its
 * anchor), then creation order (an original precedes its duplicates).
 */
export function emissionOrder(slots: readonly Slot[]): number[] {
  const rank = (i: number) => (slots[i]!.kind === 'on_time' ? 0 : 1);
  return slots
    .map((_, i) => i)
    .sort((a, b) => slots[a]!.emitAtMs - slots[b]!.emitAtMs || rank(a) - rank(b) || a - b);
}
