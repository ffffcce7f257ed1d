import type { PartitionRef } from '../../runtime/store.ts';

/**
 * Redis key layout of the state store: the only place that builds keys.
 *
 * One partition of one consumer group is the atomic unit, so all its keys share one Redis
 * Cluster hash tag and land in one slot (a Lua script may only touch keys of one slot):
 *
 *   <prefix>:{<group>|<topic>|<partition>}:meta    hash  epoch, next_offset, max_et, wm, outbox_seq
 *   <prefix>:{<group>|<topic>|<partition>}:state   hash  stateId → encoded state ("v<n>:<payload>"), or the head and
 *                                                    parts of a state in parts (runtime/state-parts.ts)
 *   <prefix>:{<group>|<topic>|<partition>}:dedup   zset  dedup id → event time (ms)
 *   <prefix>:{<group>|<topic>|<partition>}:timers  zset  timerId → fire time (ms)
 *   <prefix>:{<group>|<topic>|<partition>}:outbox  list  '{"seq":<n>,"effects":[...]}', oldest first
 *
 * `group` and `topic` are percent-escaped for `%`, `|`, `{` and `}`: `|` keeps distinct refs
 * apart ("a|b"+"c" vs "a"+"b|c"), and braces would move the hash tag's end. The prefix may not
 * contain braces (it precedes the tag, so a brace in it would become the tag).
 */
export interface PartitionKeys {
  readonly meta: string;
  readonly state: string;
  readonly dedup: string;
  readonly timers: string;
  readonly outbox: string;
}

/** Field names of the `meta` hash, shared with the Lua scripts (which spell them literally). */
export const MetaFields = {
  epoch: 'epoch',
  nextOffset: 'next_offset',
  maxEventTimeMs: 'max_et',
  watermarkMs: 'wm',
  outboxSeq: 'outbox_seq',
} as const;

export function assertValidKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix may not contain '{' or '}': ${prefix}`);
}

function escapePart(part: string): string {
  return part.replace(/[%|{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The hash tag (braces included) shared by every key of one partition. */
export function partitionTag(ref: PartitionRef): string {
  return `{${escapePart(ref.group)}|${escapePart(ref.topic)}|${ref.partition}}`;
}

export function partitionKeys(prefix: string, ref: PartitionRef): PartitionKeys {
  const base = `${prefix === '' ? '' : `${prefix}:`}${partitionTag(ref)}`;
  return {
    meta: `${base}:meta`,
    state: `${base}:state`,
    dedup: `${base}:dedup`,
    timers: `${base}:timers`,
    outbox: `${base}:outbox`,
  };
}

/** Glob pattern (for SCAN MATCH) of every key under `prefix`; glob metacharacters escaped. */
export function prefixPattern(prefix: string): string {
  const escaped = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  return prefix === '' ? '{*' : `${escaped}:*`;
}
