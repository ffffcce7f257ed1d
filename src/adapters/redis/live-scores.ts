import type { Redis } from 'ioredis';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError, toRiskstreamError } from '../../runtime/errors.ts';
import type { EffectSink } from '../../runtime/sink.ts';

/**
 * Live scores for the lookup API, in Redis:
 *
 *   <prefix>:live:user:<user_id>    string  latest ScoreRecord JSON of the user (by event time)
 *   <prefix>:live:event:<event_id>  string  ScoreRecord JSON of that event
 *
 * Both expire after `ttlSeconds`. "Latest" is by event time: a user's record is only replaced by
 * one of a later (ts_ms, event_id), so a repeat after a crash (a re-run batch, a re-drain) cannot
 * roll a user back to an older score.
 *
 * One script call per drain (SET_LIVE_SCORES) instead of a pipeline of one SET per event and one
 * newer-wins script per user: at live rates a drain is a handful of scores, and every pipelined
 * command cost the worker its own command object, promise, reply and the record's JSON twice
 * (the user's latest repeats its event's value); the script gets each JSON once.
 *
 * Input:
 *   KEYS[1..n]        event keys, one per score of the drain
 *   KEYS[n+1..n+m]    user keys, one per user of the drain
 *   ARGV[1]           ttl in seconds
 *   ARGV[2]           n
 *   ARGV[3..n+2]      the score JSON of each event key
 *   then per user key three values: i (its latest score is the i-th of the n), ts_ms, event_id
 * Output: the number of user keys replaced (the others already held a later score).
 * Single-node: the keys span slots, like the pipeline it replaced.
 */
const SET_LIVE_SCORES = `
local ttl = ARGV[1]
local n = tonumber(ARGV[2])
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ttl)
end
local replaced = 0
local a = n + 3
for k = n + 1, #KEYS do
  local json, nts, nid = ARGV[tonumber(ARGV[a]) + 2], tonumber(ARGV[a + 1]), ARGV[a + 2]
  a = a + 3
  local cur = redis.call('GET', KEYS[k])
  local keep = false
  if cur then
    local ts = tonumber(string.match(cur, '"ts_ms":(%-?%d+)'))
    local id = string.match(cur, '"event_id":"([^"]*)"')
    keep = ts and (ts > nts or (ts == nts and id and id > nid))
  end
  if keep then
    redis.call('EXPIRE', KEYS[k], ttl)
  else
    redis.call('SET', KEYS[k], json, 'EX', ttl)
    replaced = replaced + 1
  end
end
return replaced
`;

export function liveUserKey(prefix: string, userId: string): string {
  return `${prefix}:live:user:${userId}`;
}

export function liveEventKey(prefix: string, eventId: string): string {
  return `${prefix}:live:event:${eventId}`;
}

type ScoreKey = { user_id: string; event_id: string; ts_ms: number };

/** The script's order: a later ts_ms, or the same ts_ms and a greater-or-equal event_id. */
function isNewer(a: ScoreKey, b: ScoreKey): boolean {
  return a.ts_ms > b.ts_ms || (a.ts_ms === b.ts_ms && a.event_id >= b.event_id);
}

type WithSetLiveScores = Redis & { riskstreamSetLiveScores(numKeys: number, keysAndArgs: string[]): Promise<number> };

/**
 * Scores per script call. A script blocks Redis while it runs (~1 µs per SET): a replay's drain
 * of thousands of scores goes as several calls, sent together, so other clients' commands (the
 * lookup API, commits) wait at most about a millisecond behind one.
 */
const DEFAULT_SCORES_PER_CALL = 500;

export class LiveScoreSink implements EffectSink {
  readonly #redis: WithSetLiveScores;
  readonly #prefix: string;
  readonly #ttl: string;
  readonly #scoresPerCall: number;
  readonly #onVisible: ((ingestReceivedMs: number) => void) | undefined;

  /** `onVisible` is called per written score with its ingest time, once the write succeeded. */
  constructor(redis: Redis, prefix: string, ttlSeconds = 7 * 24 * 3600, scoresPerCall = DEFAULT_SCORES_PER_CALL, onVisible?: (ingestReceivedMs: number) => void) {
    if (!('riskstreamSetLiveScores' in redis)) redis.defineCommand('riskstreamSetLiveScores', { lua: SET_LIVE_SCORES });
    this.#redis = redis as WithSetLiveScores;
    this.#prefix = prefix;
    this.#ttl = String(ttlSeconds);
    this.#scoresPerCall = Math.max(1, scoresPerCall);
    this.#onVisible = onVisible;
  }

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const calls: Promise<number>[] = [];
    for (let from = 0; from < effects.length; from += this.#scoresPerCall) {
      const call = this.#call(effects, from, Math.min(effects.length, from + this.#scoresPerCall));
      if (call) calls.push(call);
    }
    try {
      await Promise.all(calls);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RiskstreamError(ErrorCodes.storeUnavailable, `live score write failed: ${message}`, { retriable: true, cause: err });
    }
    if (this.#onVisible) {
      for (const effect of effects) {
        const received = effect.type === 'upsert' ? (effect.row as { ingest_received_ms?: unknown }).ingest_received_ms : undefined;
        if (typeof received === 'number') this.#onVisible(received);
      }
    }
  }

  /**
   * One script call for effects[from, to): every event's score, and per user only the latest
   * of them (by ts_ms, then event_id, the script's own order): the others cannot win, so they
   * are not sent (a replay drains several scores per user at once).
   */
  #call(effects: readonly OutputEffect[], from: number, to: number): Promise<number> | undefined {
    const eventKeys: string[] = [];
    const jsons: string[] = [];
    const latest = new Map<string, { row: ScoreKey; at: number }>();
    for (let i = from; i < to; i++) {
      const effect = effects[i] as OutputEffect;
      if (effect.type !== 'upsert') continue;
      const row = effect.row as ScoreKey;
      // The user actor hands over the record's JSON (it emits the same string): no second copy.
      jsons.push(effect.json ?? JSON.stringify(row));
      eventKeys.push(liveEventKey(this.#prefix, row.event_id));
      const current = latest.get(row.user_id);
      if (!current || isNewer(row, current.row)) latest.set(row.user_id, { row, at: jsons.length });
    }
    if (jsons.length === 0) return undefined;
    // KEYS then ARGV in one flat array (ioredis flattens it): no spread of a long drain's values
    const args = eventKeys;
    const users: string[] = [];
    for (const { row, at } of latest.values()) {
      args.push(liveUserKey(this.#prefix, row.user_id));
      users.push(String(at), String(row.ts_ms), row.event_id);
    }
    const numKeys = args.length;
    args.push(this.#ttl, String(jsons.length));
    for (const json of jsons) args.push(json);
    for (const value of users) args.push(value);
    return this.#redis.riskstreamSetLiveScores(numKeys, args);
  }

  async close(): Promise<void> {}
}

/** Reads what LiveScoreSink wrote. */
export class LiveScoreReader {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async latestForUser(userId: string): Promise<unknown | null> {
    return this.#read(liveUserKey(this.#prefix, userId));
  }

  async forEvent(eventId: string): Promise<unknown | null> {
    return this.#read(liveEventKey(this.#prefix, eventId));
  }

  /** Redis failing to answer is a retriable STORE_UNAVAILABLE (the API answers 503). */
  async #read(key: string): Promise<unknown | null> {
    const json = await this.#redis.get(key).catch((err: unknown) => {
      throw toRiskstreamError(err, ErrorCodes.storeUnavailable, true);
    });
    return json === null ? null : JSON.parse(json);
  }
}
