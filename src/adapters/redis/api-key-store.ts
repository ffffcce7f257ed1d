import type { Redis } from 'ioredis';
import { type ApiKeyRecord, type ApiKeyStore, SCOPES, type Scope } from '../../api/ingest/ports.ts';
import { ErrorCodes, toRiskstreamError } from '../../runtime/errors.ts';

/**
 * API keys in Redis (shared by every API replica). Layout, under `<prefix>:apikeys`:
 *   HASH `<prefix>:apikeys:by-hash`  field SHA-256(key) hex → JSON ApiKeyRecord
 *   HASH `<prefix>:apikeys:by-id`    field keyId → SHA-256(key) hex (for list/revoke)
 * Only hashes are stored; a lost Redis means re-issuing keys, never leaking them.
 */
export class RedisApiKeyStore implements ApiKeyStore {
  readonly #redis: Redis;
  readonly #byHash: string;
  readonly #byId: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.#redis = redis;
    this.#byHash = `${keyPrefix}:apikeys:by-hash`;
    this.#byId = `${keyPrefix}:apikeys:by-id`;
  }

  /** Redis failing to answer is a retriable STORE_UNAVAILABLE (the API answers 503). */
  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const raw = await this.#redis.hget(this.#byHash, hash).catch((err: unknown) => {
      throw toRiskstreamError(err, ErrorCodes.storeUnavailable, true);
    });
    return raw === null ? undefined : parseRecord(raw);
  }

  async put(hash: string, record: ApiKeyRecord): Promise<void> {
    await this.#redis.multi().hset(this.#byHash, hash, JSON.stringify(record)).hset(this.#byId, record.keyId, hash).exec();
  }

  async list(): Promise<ApiKeyRecord[]> {
    const all = await this.#redis.hvals(this.#byHash);
    return all.map(parseRecord).sort((a, b) => a.createdMs - b.createdMs);
  }

  async revoke(keyId: string, nowMs: number): Promise<boolean> {
    const hash = await this.#redis.hget(this.#byId, keyId);
    if (hash === null) return false;
    const record = await this.findByHash(hash);
    if (!record) return false;
    await this.#redis.hset(this.#byHash, hash, JSON.stringify({ ...record, revokedMs: record.revokedMs ?? nowMs }));
    return true;
  }
}

function parseRecord(raw: string): ApiKeyRecord {
  const value = JSON.parse(raw) as ApiKeyRecord;
  const scopes = value.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return { ...value, scopes };
}
