import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import { MIN_TIME_MS } from '../../runtime/store.ts';
import type {
  CommitBatch,
  CommitResult,
  OutboxEntry,
  PartitionClaim,
  StoredTimer,
} from '../../runtime/store.ts';

/**
 * Encoding of script arguments and decoding of script replies: the one place where Lua's
 * status codes become `CommitResult`s.
 *
 * Commit arguments (see commitBatch-5.lua for the authoritative layout):
 *   epoch, fromOffset, nextOffset, maxEventTimeMs, watermarkMs, pruneBelowMs, effectsJson,
 *   nSet, nDel, nDedup, nTimerDel, nTimerAdd, then
 *   nSet × (stateId, value), nDel × stateId, nDedup × (eventTimeMs, id),
 *   nTimerDel × timerId, nTimerAdd × (atMs, timerId).
 * One argument per item: Redis parses the protocol faster than Lua could split a packed string.
 *
 * Outbox entry (one list element per commit with effects):
 *   '{"seq":<n>,"effects":<effects>}'   seq first: ackOutbox-2.lua reads it with a pattern
 *   instead of decoding the JSON. `effects` is a JSON array of OutputEffect, or the shared
 *   shape of encodeOutboxEffects below.
 */

/** Lua status codes; keep in step with commitBatch-5.lua and ackOutbox-2.lua. */
export const LuaCode = { fenced: -1, offsetMismatch: -2 } as const;

/** Canonical decimal offsets only: Lua compares them with tonumber, exact below 2^53. */
const OFFSET = /^(0|[1-9][0-9]{0,15})$/;

function invalid(message: string): RiskstreamError {
  return new RiskstreamError(ErrorCodes.validationFailed, message);
}

function offsetArg(name: string, value: string): string {
  if (!OFFSET.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
    throw invalid(`${name} is not a canonical offset below 2^53: ${JSON.stringify(value)}`);
  }
  return value;
}

function timeArg(name: string, value: number): string {
  if (!Number.isFinite(value)) throw invalid(`${name} is not a finite number: ${value}`);
  return String(value);
}

/**
 * Last write per state id wins, so sets and deletes can be sent as two disjoint sections.
 * Returns the flat (id, value) pairs to set and the ids to delete. Without deletes (the common
 * case) one pass and no map: HSET itself keeps the last of repeated fields. Only a batch that
 * both sets and deletes needs the map, so that a set after a delete of the same id (or the
 * reverse) keeps only the last write. This runs once per event; the map showed in the runtime
 * benchmark's profile.
 */
function splitStateWrites(batch: CommitBatch): { sets: string[]; dels: string[] } {
  const sets: string[] = [];
  for (const write of batch.states) {
    if (write.value === null) return splitMixedStateWrites(batch);
    sets.push(write.id, write.value);
  }
  return { sets, dels: [] };
}

function splitMixedStateWrites(batch: CommitBatch): { sets: string[]; dels: string[] } {
  const last = new Map<string, string | null>();
  for (const write of batch.states) last.set(write.id, write.value);
  const sets: string[] = [];
  const dels: string[] = [];
  for (const [id, value] of last) {
    if (value === null) dels.push(id);
    else sets.push(id, value);
  }
  return { sets, dels };
}

/**
 * Outbox entry effects (the `effects` of an entry), in one of two shapes:
 *
 *   plain   [OutputEffect, ...]                  no row to share; the shape of the oldest entries
 *   shared  {"rows":[<row JSON>, ...],"list":[item, ...]} where an item is an OutputEffect or
 *           {"type":"upsert","sink":s,"rowRef":i}        row = rows[i]
 *           {"type":"emit","topic":t,"key":k,"valueRef":i}  value = JSON.stringify(rows[i])
 *
 * Shared is written when upserts of the commit share a row object (the user actor upserts one
 * score record to three sinks) or carry the row's JSON (`UpsertEffect.json`): each row is then
 * stored once, from that JSON when the actor has it, and an emit whose value is that same JSON
 * (risk.scores) points at the row instead of repeating it as an escaped string. Only the JSON
 * of the most recent upsert is compared (one string comparison per emit): actors emit a record
 * right after upserting it. Decoding re-serialises such a value, which gives back the same
 * string because it was JSON.stringify output (`json` is defined as exactly that).
 */
interface SharedEffects {
  readonly rows: unknown[];
  readonly list: unknown[];
}

function sharesRows(effects: readonly OutputEffect[]): boolean {
  let seen: Set<object> | undefined;
  for (const effect of effects) {
    if (effect.type !== 'upsert') continue;
    if (effect.json !== undefined) return true;
    seen ??= new Set();
    if (seen.has(effect.row)) return true;
    seen.add(effect.row);
  }
  return false;
}

function encodeShared(effects: readonly OutputEffect[]): string {
  const rows: string[] = [];
  const index = new Map<object, number>();
  const list: unknown[] = [];
  let lastJson: string | undefined;
  let lastRef = -1;
  for (const effect of effects) {
    if (effect.type === 'upsert') {
      let ref = index.get(effect.row);
      if (ref === undefined) {
        ref = rows.push(effect.json ?? JSON.stringify(effect.row)) - 1;
        index.set(effect.row, ref);
      }
      if (effect.json !== undefined) {
        lastJson = effect.json;
        lastRef = ref;
      }
      list.push({ type: 'upsert', sink: effect.sink, rowRef: ref });
    } else if (effect.value === lastJson) {
      list.push({ type: 'emit', topic: effect.topic, key: effect.key, valueRef: lastRef });
    } else {
      list.push(effect);
    }
  }
  return `{"rows":[${rows.join(',')}],"list":${JSON.stringify(list)}}`;
}

/** The outbox entry's effects as the commit script stores them ('' for none). */
export function encodeOutboxEffects(effects: readonly OutputEffect[]): string {
  if (effects.length === 0) return '';
  try {
    return sharesRows(effects) ? encodeShared(effects) : JSON.stringify(effects);
  } catch (err) {
    throw new RiskstreamError(ErrorCodes.validationFailed, 'outbox effects are not JSON-serialisable', {
      cause: err,
    });
  }
}

export function encodeCommitArgs(batch: CommitBatch): string[] {
  const { sets, dels } = splitStateWrites(batch);
  const args: string[] = [
    String(batch.epoch),
    offsetArg('fromOffset', batch.fromOffset),
    offsetArg('nextOffset', batch.nextOffset),
    timeArg('maxEventTimeMs', batch.maxEventTimeMs),
    timeArg('watermarkMs', batch.watermarkMs),
    timeArg('dedupPruneBelowMs', batch.dedupPruneBelowMs),
    encodeOutboxEffects(batch.effects),
    String(sets.length / 2),
    String(dels.length),
    String(batch.dedup.length),
    String(batch.timersRemove.length),
    String(batch.timersAdd.length),
  ];
  for (const item of sets) args.push(item);
  for (const id of dels) args.push(id);
  for (const mark of batch.dedup) args.push(timeArg('dedup eventTimeMs', mark.eventTimeMs), mark.id);
  for (const id of batch.timersRemove) args.push(id);
  for (const timer of batch.timersAdd) args.push(timeArg('timer atMs', timer.atMs), timer.id);
  return args;
}

function unexpected(script: string, reply: unknown): RiskstreamError {
  return new RiskstreamError(ErrorCodes.storeUnavailable, `unexpected ${script} reply: ${String(reply)}`);
}

const asOffset = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

export function decodeCommitReply(reply: unknown): CommitResult {
  if (!Array.isArray(reply)) throw unexpected('commitBatch', reply);
  const [code, stored] = reply as [unknown, unknown];
  const storedOffset = asOffset(stored);
  if (code === LuaCode.fenced) return { ok: false, reason: 'fenced', storedOffset };
  if (code === LuaCode.offsetMismatch) return { ok: false, reason: 'offset_mismatch', storedOffset };
  if (typeof code !== 'number' || code < 0) throw unexpected('commitBatch', reply);
  return { ok: true, outboxSeq: code === 0 ? null : code };
}

/** ackOutbox-2.lua: a count ≥ 0, or -1 when fenced. */
export function decodeAckReply(reply: unknown): boolean {
  if (reply === LuaCode.fenced) return false;
  if (typeof reply !== 'number' || reply < 0) throw unexpected('ackOutbox', reply);
  return true;
}

const asTime = (value: unknown): number =>
  typeof value === 'string' && value !== '' ? Number(value) : MIN_TIME_MS;

function decodeTimers(flat: unknown): StoredTimer[] {
  if (!Array.isArray(flat)) throw unexpected('claimPartition', flat);
  const timers: StoredTimer[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    timers.push({ id: String(flat[i]), atMs: Number(flat[i + 1]) });
  }
  return timers;
}

export function decodeOutboxEntry(json: string): OutboxEntry {
  const entry = JSON.parse(json) as { seq: number; effects: OutputEffect[] | SharedEffects };
  if (Array.isArray(entry.effects)) return { seq: entry.seq, effects: entry.effects };
  const { rows, list } = entry.effects;
  const rowAt = (ref: number): Readonly<Record<string, unknown>> => {
    const row = rows[ref];
    if (row === undefined) throw unexpected('outbox entry', `row ${ref} of ${rows.length} rows`);
    return row as Readonly<Record<string, unknown>>;
  };
  const effects = list.map((item): OutputEffect => {
    const e = item as OutputEffect & { rowRef?: number; valueRef?: number };
    if (e.type === 'upsert' && e.rowRef !== undefined) return { type: 'upsert', sink: e.sink, row: rowAt(e.rowRef) };
    if (e.type === 'emit' && e.valueRef !== undefined) {
      return { type: 'emit', topic: e.topic, key: e.key, value: JSON.stringify(rowAt(e.valueRef)) };
    }
    return e;
  });
  return { seq: entry.seq, effects };
}

export function decodeClaimReply(reply: unknown): PartitionClaim {
  if (!Array.isArray(reply) || reply.length !== 6) throw unexpected('claimPartition', reply);
  const [epoch, nextOffset, maxEt, wm, timers, outbox] = reply as unknown[];
  if (typeof epoch !== 'number' || !Array.isArray(outbox)) throw unexpected('claimPartition', reply);
  return {
    epoch,
    nextOffset: asOffset(nextOffset),
    maxEventTimeMs: asTime(maxEt),
    watermarkMs: asTime(wm),
    timers: decodeTimers(timers),
    outbox: outbox.map((entry) => decodeOutboxEntry(String(entry))),
  };
}
