import type { Redis } from 'ioredis';
import { ErrorCodes, toRiskstreamError } from '../../runtime/errors.ts';
import type { GraphContext } from '../../analytics/user-features.ts';

/**
 * Graph snapshots written by the batch graph rebuild and read by the user workers:
 *
 *   <prefix>:graph:v:<id>     hash    user_id → "<ringScore>|<componentSize>" (only users whose
 *                                     context differs from the defaults: ring 0, component 1)
 *   <prefix>:graph:n:<id>     hash    user_id → "<component>|<user>,<user>,..." (the users sharing a
 *                                     device with it, capped): the lookup API's, never loaded by workers
 *   <prefix>:graph:meta:<id>  string  JSON {id, builtAtMs, users, ...summary}
 *   <prefix>:graph:current    string  the id workers use
 *
 * A snapshot is written whole under its own id before `current` moves to it, so a worker never
 * reads half a rebuild; the same id rewritten (a retried job) holds the same content. Older
 * snapshots than the last `keep` are deleted after the switch.
 */
export interface GraphSnapshot {
  readonly id: string;
  readonly builtAtMs: number;
  readonly contexts: Readonly<Record<string, GraphContext>>;
  readonly neighbours?: Readonly<Record<string, { component: string; sharedWith: readonly string[] }>>;
  readonly summary: Readonly<Record<string, number | string>>;
}

/** One user's place in the current snapshot, as the lookup API serves it. */
export interface UserGraphRead {
  readonly id: string;
  readonly builtAtMs: number;
  readonly context: GraphContext;
  /** Null for a user who shares no device. */
  readonly component: string | null;
  readonly sharedWith: readonly string[];
}

const CHUNK = 1_000;

export class RedisGraphStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(suffix: string): string {
    return `${this.#prefix}:graph:${suffix}`;
  }

  /** Writes the snapshot, makes it current, and deletes snapshots older than the last `keep`. */
  async publish(snapshot: GraphSnapshot, keep = 3): Promise<void> {
    const dataKey = this.#key(`v:${snapshot.id}`);
    const entries = Object.entries(snapshot.contexts);
    // A retried job starts the hashes again: no field of an earlier partial write survives.
    await this.#redis.del(dataKey, this.#key(`n:${snapshot.id}`));
    await this.#hsetChunked(dataKey, entries.map(([user, c]) => [user, `${c.ringScore}|${c.componentSize}`]));
    await this.#hsetChunked(
      this.#key(`n:${snapshot.id}`),
      Object.entries(snapshot.neighbours ?? {}).map(([user, n]) => [user, `${n.component}|${n.sharedWith.join(',')}`]),
    );
    const meta = { id: snapshot.id, builtAtMs: snapshot.builtAtMs, users: entries.length, ...snapshot.summary };
    await this.#redis
      .multi()
      .set(this.#key(`meta:${snapshot.id}`), JSON.stringify(meta))
      .zadd(this.#key('snapshots'), snapshot.builtAtMs, snapshot.id)
      .set(this.#key('current'), snapshot.id)
      .exec();
    const old = await this.#redis.zrange(this.#key('snapshots'), '0', String(-(keep + 1)));
    for (const id of old) {
      if (id === snapshot.id) continue;
      await this.#redis.multi().del(this.#key(`v:${id}`), this.#key(`n:${id}`), this.#key(`meta:${id}`)).zrem(this.#key('snapshots'), id).exec();
    }
  }

  async #hsetChunked(key: string, pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (let i = 0; i < pairs.length; i += CHUNK) await this.#redis.hset(key, ...pairs.slice(i, i + CHUNK).flat());
  }

  async currentId(): Promise<string | null> {
    return this.#redis.get(this.#key('current'));
  }

  async meta(id: string): Promise<Record<string, unknown> | null> {
    const json = await this.#redis.get(this.#key(`meta:${id}`));
    return json === null ? null : (JSON.parse(json) as Record<string, unknown>);
  }

  /** The whole snapshot, read in HSCAN pages (a large hash never blocks Redis in one call). */
  async load(id: string): Promise<Map<string, GraphContext>> {
    const out = new Map<string, GraphContext>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(this.#key(`v:${id}`), cursor, 'COUNT', CHUNK);
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, decodeContext(flat[i + 1] as string));
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  /**
   * One user's context in the current snapshot (the lookup API's read): null while no rebuild
   * ran; the defaults (ring 0, component 1) for a user who shares no device. Redis failing to
   * answer is a retriable STORE_UNAVAILABLE (the API answers 503).
   */
  async currentUser(userId: string): Promise<UserGraphRead | null> {
    try {
      const id = await this.currentId();
      if (id === null) return null;
      const [raw, near, builtAt] = await Promise.all([
        this.#redis.hget(this.#key(`v:${id}`), userId),
        this.#redis.hget(this.#key(`n:${id}`), userId),
        this.#redis.zscore(this.#key('snapshots'), id),
      ]);
      const at = near === null ? -1 : near.indexOf('|');
      return {
        id,
        builtAtMs: Number(builtAt ?? id),
        context: raw === null ? { ringScore: 0, componentSize: 1 } : decodeContext(raw),
        component: near === null ? null : near.slice(0, at),
        sharedWith: near === null || at === near.length - 1 ? [] : near.slice(at + 1).split(','),
      };
    } catch (err) {
      throw toRiskstreamError(err, ErrorCodes.storeUnavailable, true);
    }
  }
}

function decodeContext(raw: string): GraphContext {
  const [ring, size] = raw.split('|');
  return { ringScore: Number(ring), componentSize: Number(size) };
}

/** Holds the current snapshot in memory; `refresh` swaps it when `current` moved. */
export class CurrentGraph {
  readonly #store: RedisGraphStore;
  #id: string | null = null;
  #contexts: ReadonlyMap<string, GraphContext> = new Map();

  constructor(store: RedisGraphStore) {
    this.#store = store;
  }

  get(userId: string): GraphContext | undefined {
    return this.#contexts.get(userId);
  }

  get id(): string | null {
    return this.#id;
  }

  /** Users in the current snapshot. */
  get size(): number {
    return this.#contexts.size;
  }

  /** Returns the new snapshot id when it changed, else null. */
  async refresh(): Promise<string | null> {
    const id = await this.#store.currentId();
    if (id === null || id === this.#id) return null;
    this.#contexts = await this.#store.load(id);
    this.#id = id;
    return id;
  }
}
