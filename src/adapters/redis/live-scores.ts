import type { Redis } from 'ioredis';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { EffectSink } from '../../runtime/sink.ts';

/**
 * Live scores for the lookup API, in Redis:
 *
 *   <prefix>:live:user:<user_id>    string  latest ScoreRecord JSON of the user (by event time)
 *   <prefix>:live:event:<event_id>  string  ScoreRecord JSON of that event
 *
 * Both expire after `ttlSeconds`. "Latest" is by event time: the Lua below only replaces a
 * user's record with one of a later (ts_ms, event_id), so an outbox re-drain after a crash
 * cannot roll a user back to an older score.
 */
const SET_IF_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ts = tonumber(string.match(cur, '"ts_ms":(%-?%d+)'))
  local id = string.match(cur, '"event_id":"([^"]*)"')
  local nts = tonumber(ARGV[2])
  if ts and (ts > nts or (ts == nts and id and id > ARGV[3])) then
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
return 1
`;

export function liveUserKey(prefix: string, userId: string): string {
  return `${prefix}:live:user:${userId}`;
}

export function liveEventKey(prefix: string, eventId: string): string {
  return `${prefix}:live:event:${eventId}`;
}

type ScoreKey = { user_id: string; event_id: string; ts_ms: number };

/** The order of SET_IF_NEWER: a later ts_ms, or the same ts_ms and a greater-or-equal event_id. */
function isNewer(a: ScoreKey, b: ScoreKey): boolean {
  return a.ts_ms > b.ts_ms || (a.ts_ms === b.ts_ms && a.event_id >= b.event_id);
}

type WithSetIfNewer = Redis & { setIfNewer(key: string, value: string, ts: string, eventId: string, ttl: string): Promise<number> };

export class LiveScoreSink implements EffectSink {
  readonly #redis: WithSetIfNewer;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, prefix: string, ttlSeconds = 7 * 24 * 3600) {
    if (!('setIfNewer' in redis)) redis.defineCommand('setIfNewer', { numberOfKeys: 1, lua: SET_IF_NEWER });
    this.#redis = redis as WithSetIfNewer;
    this.#prefix = prefix;
    this.#ttlSeconds = ttlSeconds;
  }

  /**
   * One SET per event, and one newer-wins script call per user: within a drain only the user's
   * latest score (by ts_ms, then event_id, the script's own order) can win, so the others are
   * not sent (a replay drains several scores per user at once).
   */
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const pipeline = this.#redis.pipeline() as unknown as WithSetIfNewer & { exec(): Promise<[Error | null, unknown][] | null> };
    const latest = new Map<string, { row: ScoreKey; json: string }>();
    let n = 0;
    for (const effect of effects) {
      if (effect.type !== 'upsert') continue;
      const row = effect.row as ScoreKey;
      // The user actor hands over the record's JSON (it emits the same string): no second copy.
      const json = effect.json ?? JSON.stringify(row);
      (pipeline as unknown as Redis).set(liveEventKey(this.#prefix, row.event_id), json, 'EX', this.#ttlSeconds);
      const current = latest.get(row.user_id);
      if (!current || isNewer(row, current.row)) latest.set(row.user_id, { row, json });
      n += 1;
    }
    if (n === 0) return;
    const ttl = String(this.#ttlSeconds);
    for (const { row, json } of latest.values()) {
      pipeline.setIfNewer(liveUserKey(this.#prefix, row.user_id), json, String(row.ts_ms), row.event_id, ttl);
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err !== null);
    if (!results || failed) {
      throw new RiskstreamError(ErrorCodes.storeUnavailable, `live score write failed: ${failed?.[0]?.message ?? 'no reply'}`, { retriable: true });
    }
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
    const json = await this.#redis.get(liveUserKey(this.#prefix, userId));
    return json === null ? null : JSON.parse(json);
  }

  async forEvent(eventId: string): Promise<unknown | null> {
    const json = await this.#redis.get(liveEventKey(this.#prefix, eventId));
    return json === null ? null : JSON.parse(json);
  }
}
