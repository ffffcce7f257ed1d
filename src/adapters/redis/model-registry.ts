import type { Redis } from 'ioredis';
import { parseRiskModel, type RiskModel } from '../../analytics/model.ts';

/**
 * Versioned model registry in Redis:
 *
 *   <prefix>:models:v:<version>   string  model JSON (riskModelSchema), never overwritten
 *   <prefix>:models:versions      zset    version → publish time (ms)
 *   <prefix>:models:current       string  the promoted version
 *
 * Workers poll `current` and swap the model in memory when it changes: no restart.
 */
export class RedisModelRegistry {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(suffix: string): string {
    return `${this.#prefix}:models:${suffix}`;
  }

  /** Stores a model version. Refuses to overwrite an existing version with different content. */
  async publish(model: RiskModel, nowMs: number): Promise<void> {
    const json = JSON.stringify(parseRiskModel(model));
    const created = await this.#redis.set(this.#key(`v:${model.version}`), json, 'NX');
    if (created === null) {
      const existing = await this.#redis.get(this.#key(`v:${model.version}`));
      if (existing !== json) throw new Error(`model version ${model.version} already exists with other content`);
    }
    await this.#redis.zadd(this.#key('versions'), 'NX', nowMs, model.version);
  }

  async promote(version: string): Promise<void> {
    const exists = await this.#redis.exists(this.#key(`v:${version}`));
    if (!exists) throw new Error(`cannot promote unknown model version ${version}`);
    await this.#redis.set(this.#key('current'), version);
  }

  async currentVersion(): Promise<string | null> {
    return this.#redis.get(this.#key('current'));
  }

  async get(version: string): Promise<RiskModel | null> {
    const json = await this.#redis.get(this.#key(`v:${version}`));
    return json === null ? null : parseRiskModel(JSON.parse(json));
  }

  async versions(): Promise<string[]> {
    return this.#redis.zrange(this.#key('versions'), '0', '-1');
  }
}

/** Holds the current model; `refresh` swaps it when the registry's current version changed. */
export class CurrentModel {
  #model: RiskModel;
  readonly #registry: RedisModelRegistry;

  constructor(registry: RedisModelRegistry, fallback: RiskModel) {
    this.#registry = registry;
    this.#model = fallback;
  }

  get(): RiskModel {
    return this.#model;
  }

  /** Returns the new version when it changed, else null. */
  async refresh(): Promise<string | null> {
    const version = await this.#registry.currentVersion();
    if (version === null || version === this.#model.version) return null;
    const model = await this.#registry.get(version);
    if (!model) return null;
    this.#model = model;
    return version;
  }
}
