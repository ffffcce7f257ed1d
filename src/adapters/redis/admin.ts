import { Redis } from 'ioredis';
import { prefixPattern } from './keys.ts';

/**
 * Operational helpers over the state store's keyspace: connecting, and deleting everything under
 * a key prefix (a test run, a benchmark, a retired consumer group). Not part of the port.
 */

/**
 * A client for `url`; the caller closes it with `quit()`. `autoPipelining`: commands issued in
 * one turn of the event loop go out in one socket write (ioredis enableAutoPipelining).
 */
export function connectRedis(url: string, options: { autoPipelining?: boolean } = {}): Redis {
  return new Redis(url, { enableAutoPipelining: options.autoPipelining ?? false });
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
