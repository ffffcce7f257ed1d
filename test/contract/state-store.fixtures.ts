import type { OutputEffect } from '../../src/runtime/actor.ts';
import type { CommitBatch, PartitionClaim, PartitionRef, StateStore } from '../../src/runtime/store.ts';
import { MIN_TIME_MS } from '../../src/runtime/store.ts';

/** Builders and observers shared by the state store contract suite. */

export const REF: PartitionRef = { group: 'risk-workers', topic: 'payments.events', partition: 3 };

type BatchBody = Partial<Omit<CommitBatch, 'ref' | 'epoch' | 'fromOffset' | 'nextOffset'>>;

/** A commit with empty sections and "nothing seen" times, overridden by `body`. */
export function batch(
  epoch: number,
  fromOffset: string,
  nextOffset: string,
  body: BatchBody = {},
  ref: PartitionRef = REF,
): CommitBatch {
  return {
    ref,
    epoch,
    fromOffset,
    nextOffset,
    states: [],
    dedup: [],
    dedupPruneBelowMs: MIN_TIME_MS,
    timersAdd: [],
    timersRemove: [],
    effects: [],
    maxEventTimeMs: MIN_TIME_MS,
    watermarkMs: MIN_TIME_MS,
    ...body,
  };
}

export function emit(value: string, key = 'k'): OutputEffect {
  return { type: 'emit', topic: 'risk.scores', key, value };
}

export function upsert(row: Record<string, unknown>): OutputEffect {
  return { type: 'upsert', sink: 'merchant_scores', row };
}

/** A claim without its epoch, timers sorted by id: what "the durable position" is. */
export type Position = Omit<PartitionClaim, 'epoch'>;

/**
 * Claims the partition to read its durable position (so it bumps the epoch: use last in a test,
 * or re-read the epoch afterwards). Timer order is not part of the port, so it is normalised.
 */
export async function position(store: StateStore, ref: PartitionRef = REF): Promise<Position> {
  const { epoch: _epoch, ...rest } = await store.claim(ref);
  return { ...rest, timers: [...rest.timers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/** States and dedup marks for the given ids. */
export async function observe(
  store: StateStore,
  stateIds: readonly string[],
  dedupIds: readonly string[],
  ref: PartitionRef = REF,
): Promise<{ states: (string | null)[]; seen: boolean[] }> {
  return { states: await store.loadStates(ref, stateIds), seen: await store.seen(ref, dedupIds) };
}
