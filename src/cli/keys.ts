/**
 * API key management (keys live hashed in Redis; see src/adapters/redis/api-key-store.ts).
 *
 *   npm run keys -- create --name NAME [--scopes ingest,read] [--rate 1000] [--require-signature]
 *   npm run keys -- list
 *   npm run keys -- revoke KEY_ID
 *
 * `create` prints the key ONCE (stdout, last line is the bare key, for scripts).
 */
import { parseArgs } from 'node:util';
import { connectRedis } from '../adapters/redis/admin.ts';
import { RedisApiKeyStore } from '../adapters/redis/api-key-store.ts';
import { newApiKey } from '../api/ingest/auth.ts';
import { SCOPES, type Scope } from '../api/ingest/ports.ts';
import { loadConfig } from '../runtime/config.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string', default: 'unnamed' },
    scopes: { type: 'string', default: 'ingest' },
    rate: { type: 'string' },
    'require-signature': { type: 'boolean', default: false },
  },
});
const config = loadConfig(process.env);
const redis = connectRedis(config.redis.url);
const store = new RedisApiKeyStore(redis, config.redis.keyPrefix);

async function main(): Promise<number> {
  const [command, arg] = positionals;
  if (command === 'create') {
    const scopes = values.scopes.split(',').map((s) => s.trim());
    const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad.length > 0) throw new Error(`unknown scope(s) ${bad.join(',')}; known: ${SCOPES.join(',')}`);
    const rate = values.rate === undefined ? undefined : Number(values.rate);
    if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) throw new Error('--rate must be a positive integer');
    const k = newApiKey();
    await store.put(k.hash, {
      keyId: k.keyId,
      name: values.name,
      scopes: scopes as Scope[],
      createdMs: Date.now(),
      ...(rate === undefined ? {} : { rateLimitPerSec: rate }),
      ...(values['require-signature'] ? { requireSignature: true } : {}),
    });
    console.error(`created key ${k.keyId} (${values.name}) scopes=${scopes.join(',')}; store it now, it is not shown again:`);
    console.log(k.key);
    return 0;
  }
  if (command === 'list') {
    for (const r of await store.list()) {
      const state = r.revokedMs === undefined ? 'active' : `revoked ${new Date(r.revokedMs).toISOString()}`;
      console.log(`${r.keyId}\t${r.name}\t${r.scopes.join(',')}\t${new Date(r.createdMs).toISOString()}\t${state}`);
    }
    return 0;
  }
  if (command === 'revoke' && arg) {
    const ok = await store.revoke(arg, Date.now());
    console.log(ok ? `revoked ${arg}` : `no key ${arg}`);
    return ok ? 0 : 1;
  }
  console.error('usage: keys create --name N [--scopes ingest,read,admin] [--rate N] [--require-signature] | list | revoke KEY_ID');
  return 2;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => redis.quit());
