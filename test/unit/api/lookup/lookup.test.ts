import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryApiKeyStore } from '../../../../src/adapters/memory/api-key-store.ts';
import { MemoryRecordSink } from '../../../../src/adapters/memory/record-sink.ts';
import { buildIngestApp } from '../../../../src/api/ingest/app.ts';
import { newApiKey } from '../../../../src/api/ingest/auth.ts';
import type { Scope } from '../../../../src/api/ingest/ports.ts';
import type { LookupReader, StoredScore, WindowQuery, WindowRowOut } from '../../../../src/api/lookup/ports.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../../../../src/runtime/errors.ts';
import { silentLogger } from '../../../../src/runtime/logger.ts';

const NOW = Date.UTC(2026, 2, 1, 12);
const score: StoredScore = {
  event_id: 'e1', user_id: 'u1', merchant_id: 'm1', ts_ms: NOW - 5_000, ingest_received_ms: NOW - 1_200, score: 0.91,
  decision: 'block', reasons: ['velocity_1h_high'], features: { velocity_1h_count: 9 }, model_version: 'v1',
};
const windows: WindowRowOut[] = Array.from({ length: 5 }, (_, i) => ({
  merchant_id: 'm1', window_start: NOW - (i + 5) * 60_000, window_end: NOW - i * 60_000, status: i % 2 ? 'failed' : 'captured',
  cnt: i + 1, sum_amount: 10 * (i + 1), n_users: 1, final: true,
}));

/** In-memory reader; pages by index, the cursor is the next index in base64url. */
class MemoryReader implements LookupReader {
  queries: WindowQuery[] = [];
  async latestUserScore(userId: string) {
    return userId === 'u1' ? score : null;
  }
  async scoreByEvent(eventId: string) {
    return eventId === 'e1' ? score : null;
  }
  async merchantWindows(q: WindowQuery) {
    this.queries.push(q);
    const all = windows.filter((w) => w.merchant_id === q.merchantId && w.window_start >= q.fromMs && w.window_start < q.toMs && (q.status === undefined || w.status === q.status));
    const from = q.pageState ? Number(Buffer.from(q.pageState, 'base64url').toString()) : 0;
    const rows = all.slice(from, from + q.limit);
    const next = from + q.limit < all.length ? Buffer.from(String(from + q.limit)).toString('base64url') : null;
    return { rows, pageState: next };
  }
  async merchantStats(id: string) {
    return id === 'm1' ? { merchant_id: 'm1', total_cnt: 10, failed_cnt: 4, hour_cnt: 5, hour_failed: 1, as_of_ms: NOW - 60_000 } : null;
  }
  graphBuilt = true;
  async userGraph(userId: string) {
    if (!this.graphBuilt) return null;
    const ring = userId === 'u1';
    return {
      user_id: userId, snapshot_id: 's1', built_at_ms: NOW - 90_000, ring_score: ring ? 0.6 : 0, component_size: ring ? 4 : 1,
      component: ring ? 'u0' : null, shared_device_users: ring ? ['u0', 'u7'] : [],
    };
  }
}

let app: Awaited<ReturnType<typeof setup>>['app'] | undefined;
afterEach(async () => app?.close());

async function setup() {
  const keys = new MemoryApiKeyStore();
  const key = async (scopes: Scope[]) => {
    const k = newApiKey();
    await keys.put(k.hash, { keyId: k.keyId, name: 't', scopes, createdMs: NOW });
    return k.key;
  };
  const reader = new MemoryReader();
  const built = buildIngestApp({
    config: loadConfig(), sink: new MemoryRecordSink(), keys, logger: silentLogger(), registry: new Registry(), now: () => NOW, lookup: reader,
  });
  await built.ready();
  app = built;
  return { app: built, reader, readKey: await key(['read']), ingestKey: await key(['ingest']) };
}

const get = (a: NonNullable<typeof app>, url: string, key?: string) =>
  a.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });

describe('lookup API', () => {
  it('serves a user\u2019s latest score with as_of and staleness', async () => {
    const s = await setup();
    const res = await get(s.app, '/v1/users/u1/risk', s.readKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ event_id: 'e1', score: 0.91, decision: 'block', as_of_ms: NOW - 5_000, staleness_ms: 1_200, model_version: 'v1' });
  });

  it('404 for unknown users and events, 400 for malformed ids', async () => {
    const s = await setup();
    expect((await get(s.app, '/v1/users/nobody/risk', s.readKey)).statusCode).toBe(404);
    expect((await get(s.app, '/v1/scores/nope', s.readKey)).json()).toMatchObject({ error: 'NOT_FOUND' });
    const bad = await get(s.app, `/v1/users/${encodeURIComponent('u 1')}/risk`, s.readKey);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details).toEqual([{ path: 'userId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
  });

  it('requires the read scope', async () => {
    const s = await setup();
    expect((await get(s.app, '/v1/scores/e1')).statusCode).toBe(401);
    expect((await get(s.app, '/v1/scores/e1', s.ingestKey)).statusCode).toBe(403);
    expect((await get(s.app, '/v1/scores/e1', s.readKey)).statusCode).toBe(200);
  });

  it('pages merchant windows by time range and status', async () => {
    const s = await setup();
    const base = `/v1/merchants/m1/windows?from=${NOW - 3_600_000}&to=${NOW}`;
    const first = await get(s.app, `${base}&limit=2`, s.readKey);
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.rows).toHaveLength(2);
    const second = (await get(s.app, `${base}&limit=2&page_state=${page1.page_state}`, s.readKey)).json();
    const third = (await get(s.app, `${base}&limit=2&page_state=${second.page_state}`, s.readKey)).json();
    expect([...page1.rows, ...second.rows, ...third.rows]).toEqual(windows);
    expect(third.page_state).toBeNull();
    const failed = (await get(s.app, `${base}&status=failed`, s.readKey)).json();
    expect(failed.rows.map((r: WindowRowOut) => r.status)).toEqual(['failed', 'failed']);
    expect(failed.as_of_ms).toBe(NOW - 60_000);
  });

  it('400 with field paths for bad ranges', async () => {
    const s = await setup();
    const cases: [string, string][] = [
      ['from=10&to=5', 'query.to'],
      ['to=5', 'query.from'],
      ['from=abc&to=5', 'query.from'],
      ['from=0&to=5&status=weird', 'query.status'],
      ['from=0&to=5&limit=5000', 'query.limit'],
      [`from=0&to=${30 * 86_400_000}`, 'query.to'],
    ];
    for (const [query, path] of cases) {
      const res = await get(s.app, `/v1/merchants/m1/windows?${query}`, s.readKey);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().details.map((d: { path: string }) => d.path), query).toContain(path);
    }
    expect(s.reader.queries).toHaveLength(0);
  });

  it('lists the lookup routes in the OpenAPI document', async () => {
    const s = await setup();
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/users/{userId}/risk', '/v1/users/{userId}/graph', '/v1/scores/{eventId}', '/v1/merchants/{merchantId}/windows', '/v1/merchants/{merchantId}/stats']));
  });

  it('serves a user\u2019s graph context with its snapshot age; 404 before any rebuild', async () => {
    const s = await setup();
    const res = await get(s.app, '/v1/users/u1/graph', s.readKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      user_id: 'u1', snapshot_id: 's1', built_at_ms: NOW - 90_000, ring_score: 0.6, component_size: 4, component: 'u0',
      shared_device_users: ['u0', 'u7'], as_of_ms: NOW - 90_000, staleness_ms: 90_000,
    });
    expect((await get(s.app, '/v1/users/u2/graph', s.readKey)).json()).toMatchObject({ ring_score: 0, component_size: 1, component: null, shared_device_users: [] });
    expect((await get(s.app, '/v1/users/u2/graph')).statusCode).toBe(401);
    expect((await get(s.app, `/v1/users/${encodeURIComponent('u 2')}/graph`, s.readKey)).json().details).toEqual([{ path: 'userId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
    s.reader.graphBuilt = false;
    const none = await get(s.app, '/v1/users/u1/graph', s.readKey);
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('merchant stats with failure rates', async () => {
    const s = await setup();
    const res = (await get(s.app, '/v1/merchants/m1/stats', s.readKey)).json();
    expect(res).toMatchObject({ total_cnt: 10, failure_rate_since_start: 0.4, failure_rate_1h: 0.2, as_of_ms: NOW - 60_000 });
    expect((await get(s.app, '/v1/merchants/m9/stats', s.readKey)).statusCode).toBe(404);
  });
});

describe('lookup API when a store does not answer', () => {
  it('answers 503 with Retry-After for a retriable store error, 500 for anything else', async () => {
    const s = await setup();
    const fail = (err: Error) => {
      s.reader.latestUserScore = async () => {
        throw err;
      };
    };
    fail(new RiskstreamError(ErrorCodes.storeUnavailable, 'Command timed out', { retriable: true }));
    const redisDown = await get(s.app, '/v1/users/u1/risk', s.readKey);
    expect(redisDown.statusCode).toBe(503);
    expect(redisDown.headers['retry-after']).toBe('1');
    expect(redisDown.json()).toMatchObject({ error: 'STORE_UNAVAILABLE', message: 'a store did not answer in time; retry' });
    fail(new RiskstreamError(ErrorCodes.cassandraUnavailable, 'All host(s) tried for query failed', { retriable: true }));
    expect((await get(s.app, '/v1/users/u1/risk', s.readKey)).json()).toMatchObject({ error: 'CASSANDRA_UNAVAILABLE' });
    fail(new Error('a bug'));
    const bug = await get(s.app, '/v1/users/u1/risk', s.readKey);
    expect(bug.statusCode).toBe(500);
    expect(bug.headers['retry-after']).toBeUndefined();
  });

  it('answers 503 when the key store does not answer for a key not in the cache', async () => {
    const keys = new MemoryApiKeyStore();
    keys.findByHash = async () => {
      throw new RiskstreamError(ErrorCodes.storeUnavailable, 'Command timed out', { retriable: true });
    };
    const built = buildIngestApp({
      config: loadConfig(), sink: new MemoryRecordSink(), keys, logger: silentLogger(), registry: new Registry(), now: () => NOW, lookup: new MemoryReader(),
    });
    await built.ready();
    app = built;
    const res = await get(built, '/v1/users/u1/risk', newApiKey().key);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'STORE_UNAVAILABLE' });
  });
});
