import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore, Scope } from './ports.ts';

/**
 * API keys: `rsk_<keyId>_<secret>` (keyId 12 hex, secret 32 random bytes base64url). Only
 * SHA-256(key) is stored. Optional request signature (header `x-rs-signature`):
 *
 *   x-rs-signature: t=<epoch ms>,v1=<hex HMAC-SHA256(signingKey, `${t}.${rawBody}`)>
 *   signingKey = SHA-256(apiKey) as raw bytes   (the client derives it from its key; the
 *                                                server holds it as the stored hash)
 *
 * `t` must be within `toleranceMs` of the server clock (replay window).
 */
const KEY_PATTERN = /^rsk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export function newApiKey(): { key: string; keyId: string; hash: string } {
  const keyId = randomBytes(6).toString('hex');
  const key = `rsk_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { key, keyId, hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The presented key from `authorization: Bearer <key>` or `x-api-key`, if well-formed. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  const direct = headers['x-api-key'];
  let key: string | undefined;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) key = auth.slice(7).trim();
  else if (typeof direct === 'string') key = direct.trim();
  return key !== undefined && KEY_PATTERN.test(key) ? key : undefined;
}

export function hasScope(record: ApiKeyRecord, scope: Scope): boolean {
  return record.scopes.includes(scope) || record.scopes.includes('admin');
}

/** Builds the signature header value (for clients, the generator and tests). */
export function signBody(apiKey: string, body: string | Buffer, tMs: number): string {
  const mac = createHmac('sha256', Buffer.from(hashApiKey(apiKey), 'hex'));
  mac.update(`${tMs}.`).update(body);
  return `t=${tMs},v1=${mac.digest('hex')}`;
}

export type SignatureCheck = 'ok' | 'malformed' | 'stale' | 'mismatch';

export function verifySignature(
  header: string,
  rawBody: Buffer,
  keyHash: string,
  nowMs: number,
  toleranceMs: number,
): SignatureCheck {
  const match = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!match) return 'malformed';
  const t = Number(match[1]);
  if (Math.abs(nowMs - t) > toleranceMs) return 'stale';
  const mac = createHmac('sha256', Buffer.from(keyHash, 'hex'));
  const expected = mac.update(`${t}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) ? 'ok' : 'mismatch';
}

/**
 * Caches key lookups (hits and misses). A fresh entry costs no store round trip; an expired
 * one is still served while ONE background refresh runs (stale-while-revalidate), so the key
 * store is never on the hot path of a known key and a store hiccup adds no latency. A
 * revocation therefore takes effect within about ttlMs plus one refresh.
 */
export class KeyResolver {
  readonly #cache = new Map<
    string,
    { record: ApiKeyRecord | undefined; expiresMs: number; refreshing: boolean }
  >();
  readonly #store: ApiKeyStore;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(store: ApiKeyStore, ttlMs: number, now: () => number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  async resolve(key: string): Promise<{ hash: string; record: ApiKeyRecord | undefined }> {
    const hash = hashApiKey(key);
    const hit = this.#cache.get(hash);
    if (hit) {
      if (hit.expiresMs <= this.#now() && !hit.refreshing) {
        hit.refreshing = true;
        this.#load(hash).catch(() => {
          hit.refreshing = false; // keep serving the last answer; retry on a later request
        });
      }
      return { hash, record: hit.record };
    }
    return { hash, record: await this.#load(hash) };
  }

  async #load(hash: string): Promise<ApiKeyRecord | undefined> {
    const found = await this.#store.findByHash(hash);
    const record = found && found.revokedMs === undefined ? found : undefined;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(hash, { record, expiresMs: this.#now() + this.#ttlMs, refreshing: false });
    return record;
  }
}
