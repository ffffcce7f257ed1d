import { Registry } from 'prom-client';
import { MemoryApiKeyStore } from '../../../../src/adapters/memory/api-key-store.ts';
import { MemoryRecordSink } from '../../../../src/adapters/memory/record-sink.ts';
import { buildIngestApp } from '../../../../src/api/ingest/app.ts';
import { newApiKey } from '../../../../src/api/ingest/auth.ts';
import type { ApiKeyRecord, Scope } from '../../../../src/api/ingest/ports.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { silentLogger } from '../../../../src/runtime/logger.ts';

export const NOW = Date.UTC(2026, 2, 1, 12);

/** An ingest app on memory adapters with a pinned clock and a few keys. */
export async function harness(apiOverrides: Record<string, unknown> = {}) {
  const config = loadConfig({}, { api: apiOverrides, kafka: { topicPrefix: 't.' } });
  const keys = new MemoryApiKeyStore();
  const sink = new MemoryRecordSink();
  const clock = { now: NOW };
  const addKey = async (scopes: Scope[], extra: Partial<ApiKeyRecord> = {}) => {
    const k = newApiKey();
    await keys.put(k.hash, { keyId: k.keyId, name: 'test', scopes, createdMs: NOW, ...extra });
    return k.key;
  };
  const ingestKey = await addKey(['ingest']);
  const app = buildIngestApp({
    config,
    sink,
    keys,
    logger: silentLogger(),
    registry: new Registry(),
    now: () => clock.now,
  });
  await app.ready();
  return { app, sink, keys, clock, addKey, ingestKey, config };
}

export function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: 'evt-1',
    ts_ms: NOW - 60_000,
    user_id: 'u_1',
    merchant_id: 'm_1',
    amount: 42.5,
    currency: 'USD',
    country: 'SG',
    device_id: 'd_1',
    status: 'authorized',
    metadata: { channel: 'app' },
    ...overrides,
  };
}
