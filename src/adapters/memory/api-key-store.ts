import type { ApiKeyRecord, ApiKeyStore } from '../../api/ingest/ports.ts';

/** In-memory ApiKeyStore for tests and single-process demos. */
export class MemoryApiKeyStore implements ApiKeyStore {
  readonly #byHash = new Map<string, ApiKeyRecord>();

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.#byHash.get(hash);
  }

  async put(hash: string, record: ApiKeyRecord): Promise<void> {
    this.#byHash.set(hash, record);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.#byHash.values()];
  }

  async revoke(keyId: string, nowMs: number): Promise<boolean> {
    for (const [hash, record] of this.#byHash) {
      if (record.keyId === keyId) {
        this.#byHash.set(hash, { ...record, revokedMs: nowMs });
        return true;
      }
    }
    return false;
  }
}
