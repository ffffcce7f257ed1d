import type { WireRecord } from '../../contract/wire.ts';

/**
 * Where accepted records go. `send` resolves only once every record is acknowledged by all
 * in-sync replicas; it rejects (retriable) if any is not, and then the caller must treat the
 * whole call as not accepted (some records may still have landed: consumers dedup by event_id).
 */
export interface RecordSink {
  send(topic: string, records: readonly WireRecord[]): Promise<void>;
  /** False while the broker connection is known to be down: fail fast with 503. */
  isReady(): boolean;
}

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** A stored API key. The key itself is never stored: only its SHA-256 (hex). */
export interface ApiKeyRecord {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdMs: number;
  readonly revokedMs?: number;
  /** Overrides the default per-key rate limit, in events per second. */
  readonly rateLimitPerSec?: number;
  /** When true, requests without a valid HMAC signature are refused. */
  readonly requireSignature?: boolean;
}

export interface ApiKeyStore {
  /** Looks a key up by the SHA-256 hex of the presented key. */
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  put(hash: string, record: ApiKeyRecord): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; false if no such key id. */
  revoke(keyId: string, nowMs: number): Promise<boolean>;
}
