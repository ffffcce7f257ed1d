import { Redis } from 'ioredis';
import { prefixPattern } from './keys.ts';

/**
 * Operational helpers over the state store's keyspace: connecting, and deleting everything under
 * a key prefix (a test run, a benchmark, a retired consumer group). Not part of the port.
 */

/**
 * A client for `url`; the caller closes it with `quit()`. `autoPipelining`: commands issued in
 * one turn of the event loop go out in one socket write (ioredis enableAutoPipelining).
 * `commandTimeoutMs`: a command without a reply by then fails (a request path that must answer
 * in bounded time; unset for workers, whose commits must not be abandoned half-way through a
 * reply), and a command issued while disconnected fails after one reconnect attempt instead of 20.
 */
export function connectRedis(url: string, options: { autoPipelining?: boolean; commandTimeoutMs?: number } = {}): Redis {
  return new Redis(url, {
    enableAutoPipelining: options.autoPipelining ?? false,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs, maxRetriesPerRequest: 1 }),
  });
}

/**
 * Deletes every key under `keyPrefix` with SCAN + UNLINK (non-blocking on the server; the
 * memory is freed in the background). Returns the number of keys removed. Not atomic: keys
 * written concurrently may survive.
 */
export async function unlinkByPrefix(redis: Redis, keyPrefix: string): Promise<number> {
  const pattern = prefixPattern(keyPrefix);
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(keys);
  } while (cursor !== '0');
  return removed;
}

/** Keys under `keyPrefix` (SCAN), for tests and diagnostics. */
export async function keysByPrefix(redis: Redis, keyPrefix: string): Promise<string[]> {
  const pattern = prefixPattern(keyPrefix);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** What the state store makes of Redis's `maxmemory-policy`. */
export interface EvictionCheck {
  /** The policy Redis reported; undefined when CONFIG is not available (managed services). */
  readonly policy: string | undefined;
  /** false: Redis may evict keys without a TTL, i.e. states, dedup marks and positions. */
  readonly safe: boolean | undefined;
}

/**
 * Reads `maxmemory-policy`. Why: at its memory limit a Redis with an `allkeys-*` policy evicts
 * any key, so it would silently drop actor states, dedup marks and stored positions (exactly
 * once gone, without an error). `noeviction` refuses writes instead (the partitions wait, see
 * test/fault/redis-full.test.ts) and `volatile-*` evict only keys with a TTL (live scores,
 * never the store's keys): both are safe. Services that rename or disable CONFIG give
 * `{ policy: undefined, safe: undefined }`; connection errors are thrown.
 */
export async function checkEvictionPolicy(redis: Redis): Promise<EvictionCheck> {
  let reply: unknown;
  try {
    reply = await redis.call('CONFIG', 'GET', 'maxmemory-policy');
  } catch (err) {
    if (err instanceof Error && /unknown command|NOPERM|no permissions/i.test(err.message)) return { policy: undefined, safe: undefined };
    throw err;
  }
  const policy = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  if (policy === undefined) return { policy: undefined, safe: undefined };
  return { policy, safe: !policy.startsWith('allkeys-') };
}
