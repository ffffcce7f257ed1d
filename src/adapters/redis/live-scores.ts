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

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const pipeline = this.#redis.pipeline() as unknown as WithSetIfNewer & { exec(): Promise<[Error | null, unknown][] | null> };
    let n = 0;
    const ttl = String(this.#ttlSeconds);
    for (const effect of effects) {
      if (effect.type !== 'upsert') continue;
      const row = effect.row as { user_id: string; event_id: string; ts_ms: number };
      const json = JSON.stringify(row);
      pipeline.setIfNewer(liveUserKey(this.#prefix, row.user_id), json, String(row.ts_ms), row.event_id, ttl);
      (pipeline as unknown as Redis).set(liveEventKey(this.#prefix, row.event_id), json, 'EX', this.#ttlSeconds);
      n += 1;
    }
    if (n === 0) return;
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
