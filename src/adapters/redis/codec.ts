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
 *   '{"seq":<n>,"effects":<JSON array of OutputEffect>}'   seq first: ackOutbox-2.lua reads it
 *   with a pattern instead of decoding the JSON. When upserts of the commit share row objects,
 *   `effects` is `{"rows":[...],"list":[...]}` instead (see shareRows).
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
 * Rows that several upserts of one commit share (the user actor upserts one score record to
 * three sinks) are written once: the entry's `effects` is then `{"rows":[...],"list":[...]}`
 * with `{"type":"upsert","sink":..,"rowRef":i}` items. Without sharing it stays a plain array
 * (entries written before this format decode as they always did).
 */
interface SharedEffects {
  readonly rows: unknown[];
  readonly list: unknown[];
}

function shareRows(effects: readonly OutputEffect[]): readonly OutputEffect[] | SharedEffects {
  let seen: Set<object> | undefined;
  let repeated = false;
  for (const effect of effects) {
    if (effect.type !== 'upsert') continue;
    seen ??= new Set();
    if (seen.has(effect.row)) {
      repeated = true;
      break;
    }
    seen.add(effect.row);
  }
  if (!repeated) return effects;
  const rows: unknown[] = [];
  const index = new Map<object, number>();
  const list = effects.map((effect) => {
    if (effect.type !== 'upsert') return effect;
    let ref = index.get(effect.row);
    if (ref === undefined) {
      ref = rows.push(effect.row) - 1;
      index.set(effect.row, ref);
    }
    return { type: 'upsert', sink: effect.sink, rowRef: ref };
  });
  return { rows, list };
}

function effectsArg(effects: readonly OutputEffect[]): string {
  if (effects.length === 0) return '';
  try {
    return JSON.stringify(shareRows(effects));
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
    effectsArg(batch.effects),
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
  const effects = list.map((item) => {
    const e = item as OutputEffect & { rowRef?: number };
    if (e.type !== 'upsert' || e.rowRef === undefined) return e;
    const row = rows[e.rowRef];
    if (row === undefined) throw unexpected('outbox entry', `rowRef ${e.rowRef} of ${rows.length} rows`);
    return { type: 'upsert', sink: e.sink, row } as OutputEffect;
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
