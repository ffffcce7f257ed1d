import type { Redis } from 'ioredis';

/** Where each DLQ topic's last replay stopped: `<prefix>:batch:dlq-cursor:<topic>` hash partition → next offset. */
export class RedisDlqCursors {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async get(topic: string): Promise<Map<number, string>> {
    const h = await this.#redis.hgetall(`${this.#prefix}:batch:dlq-cursor:${topic}`);
    return new Map(Object.entries(h).map(([p, o]) => [Number(p), o]));
  }

  async set(topic: string, next: ReadonlyMap<number, string>): Promise<void> {
    if (next.size === 0) return;
    await this.#redis.hset(`${this.#prefix}:batch:dlq-cursor:${topic}`, Object.fromEntries([...next].map(([p, o]) => [String(p), o])));
  }
}
