import type { Redis } from 'ioredis';
import type { ReportStore } from '../../batch/ports.ts';

/**
 * Latest report of each batch job: `<prefix>:batch:report:<job>` holds its JSON. Operators and the
 * demo read it; history lives in the job queue (BullMQ keeps the last completed jobs' results).
 */
export class RedisReportStore implements ReportStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async put(job: string, report: object): Promise<void> {
    await this.#redis.set(`${this.#prefix}:batch:report:${job}`, JSON.stringify(report));
  }

  async get(job: string): Promise<Record<string, unknown> | null> {
    const json = await this.#redis.get(`${this.#prefix}:batch:report:${job}`);
    return json === null ? null : (JSON.parse(json) as Record<string, unknown>);
  }
}
