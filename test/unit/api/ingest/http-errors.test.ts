import { afterEach, describe, expect, it } from 'vitest';
import { signBody } from '../../../../src/api/ingest/auth.ts';
import { event, harness, NOW } from './harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
afterEach(async () => h?.app.close());

interface ErrorBody {
  error: string;
  details: { path: string; reason: string }[];
  results?: {
    index: number;
    status: string;
    event_id?: string;
    errors?: { path: string; reason: string }[];
  }[];
  accepted?: number;
  rejected?: number;
}

function post(payload: string, headers: Record<string, string>, url = '/v1/events/batch') {
  return h.app.inject({ method: 'POST', url, headers, payload });
}
const auth = (key: string, type = 'application/json') => ({
  authorization: `Bearer ${key}`,
  'content-type': type,
});
const batch = (n: number, prefix = 'b') =>
  Array.from({ length: n }, (_, i) => event({ event_id: `${prefix}-${i}` }));

describe('bad input table: HTTP level', () => {
  it('wrong content type → 415', async () => {
    h = await harness();
    const res = await post(JSON.stringify(event()), auth(h.ingestKey, 'text/plain'), '/v1/events');
    expect(res.statusCode).toBe(415);
    expect((res.json() as ErrorBody).error).toBe('UNSUPPORTED_MEDIA_TYPE');
    const nd = await post(JSON.stringify(event()), auth(h.ingestKey, 'application/x-ndjson'), '/v1/events');
    expect(nd.statusCode).toBe(415);
  });

  it('a 2 MiB body → 413 and nothing sent', async () => {
    h = await harness();
    const big = JSON.stringify([event({ metadata: { pad: 'x'.repeat(200) } })]).padEnd(2 * 1024 * 1024, ' ');
    const res = await post(big, auth(h.ingestKey));
    expect(res.statusCode).toBe(413);
    expect((res.json() as ErrorBody).error).toBe('BODY_TOO_LARGE');
    expect(h.sink.sends).toHaveLength(0);
  });

  it('a 1,001-event batch → 413 with reason, nothing sent', async () => {
    h = await harness({ bodyLimitBytes: 4 * 1024 * 1024 });
    const res = await post(JSON.stringify(batch(1001)), auth(h.ingestKey));
    expect(res.statusCode).toBe(413);
    const body = res.json() as ErrorBody;
    expect(body.error).toBe('BATCH_TOO_LARGE');
    expect(body.details).toEqual([{ path: '', reason: 'at most 1000 events per batch, got 1001' }]);
    expect(h.sink.sends).toHaveLength(0);
  });

  it('mixed valid+invalid batch → 207, valid ones delivered exactly once, invalid ones named', async () => {
    h = await harness();
    const events = batch(5, 'mix');
    events[1] = event({ event_id: 'mix-1', amount: 'NaN' });
    events[3] = event({ event_id: 'mix-3', country: 'Narnia' });
    const res = await post(JSON.stringify(events), auth(h.ingestKey));
    expect(res.statusCode).toBe(207);
    const body = res.json() as ErrorBody;
    expect([body.accepted, body.rejected]).toEqual([3, 2]);
    expect(body.results!.map((r) => r.status)).toEqual([
      'accepted',
      'rejected',
      'accepted',
      'rejected',
      'accepted',
    ]);
    expect(body.results![1]!.errors).toEqual([{ path: 'amount', reason: 'expected number, got string' }]);
    expect(body.results![3]!.errors![0]!.path).toBe('country');
    expect(h.sink.sends).toHaveLength(1); // one produce call for the whole request
    expect(h.sink.values().map((v) => v.event_id)).toEqual(['mix-0', 'mix-2', 'mix-4']);
  });

  it('NDJSON batch: a malformed line rejects only that line', async () => {
    h = await harness();
    const lines = [
      JSON.stringify(event({ event_id: 'nd-0' })),
      '{"event_id":',
      JSON.stringify(event({ event_id: 'nd-2' })),
    ];
    const res = await post(`${lines.join('\n')}\n`, auth(h.ingestKey, 'application/x-ndjson'));
    expect(res.statusCode).toBe(207);
    const body = res.json() as ErrorBody;
    expect(body.results![1]!.errors![0]!.path).toBe('');
    expect(body.results![1]!.errors![0]!.reason).toContain('invalid JSON');
    expect(h.sink.values().map((v) => v.event_id)).toEqual(['nd-0', 'nd-2']);
  });

  it('missing, malformed and unknown API keys → 401; revoked → 401', async () => {
    h = await harness();
    const body = JSON.stringify(event());
    const none = await post(body, { 'content-type': 'application/json' }, '/v1/events');
    const junk = await post(body, auth('not-a-key'), '/v1/events');
    const unknown = await post(body, auth(`rsk_0123456789ab_${'A'.repeat(43)}`), '/v1/events');
    expect([none.statusCode, junk.statusCode, unknown.statusCode]).toEqual([401, 401, 401]);
    expect((unknown.json() as ErrorBody).error).toBe('UNAUTHENTICATED');
    const key = await h.addKey(['ingest'], { revokedMs: NOW });
    expect((await post(body, auth(key), '/v1/events')).statusCode).toBe(401);
    expect(h.sink.sends).toHaveLength(0);
  });

  it('wrong scope → 403; admin implies ingest; x-api-key header works', async () => {
    h = await harness();
    const read = await h.addKey(['read']);
    const admin = await h.addKey(['admin']);
    const res = await post(JSON.stringify(event()), auth(read), '/v1/events');
    expect(res.statusCode).toBe(403);
    expect((res.json() as ErrorBody).error).toBe('FORBIDDEN');
    const ok = await post(
      JSON.stringify(event()),
      { 'x-api-key': admin, 'content-type': 'application/json' },
      '/v1/events',
    );
    expect(ok.statusCode).toBe(202);
  });

  it('bad, stale or missing-but-required signature → 401; a good one passes', async () => {
    h = await harness();
    const body = JSON.stringify(event());
    const bad = await post(
      body,
      { ...auth(h.ingestKey), 'x-rs-signature': signBody(h.ingestKey, `${body} `, NOW) },
      '/v1/events',
    );
    expect(bad.statusCode).toBe(401);
    expect((bad.json() as ErrorBody).error).toBe('BAD_SIGNATURE');
    const stale = await post(
      body,
      { ...auth(h.ingestKey), 'x-rs-signature': signBody(h.ingestKey, body, NOW - 301_000) },
      '/v1/events',
    );
    expect(stale.statusCode).toBe(401);
    const strict = await h.addKey(['ingest'], { requireSignature: true });
    expect((await post(body, auth(strict), '/v1/events')).statusCode).toBe(401);
    const good = await post(
      body,
      { ...auth(strict), 'x-rs-signature': signBody(strict, body, NOW) },
      '/v1/events',
    );
    expect(good.statusCode).toBe(202);
    expect(h.sink.values()).toHaveLength(1);
  });

  it('rate limit exceeded → 429 with Retry-After, per key', async () => {
    h = await harness({ maxBatchEvents: 10 });
    const slow = await h.addKey(['ingest'], { rateLimitPerSec: 5 });
    const first = await post(JSON.stringify(batch(10, 'r1')), auth(slow)); // capacity = max(10, 5×2)
    const second = await post(JSON.stringify(batch(5, 'r2')), auth(slow));
    expect([first.statusCode, second.statusCode]).toEqual([202, 429]);
    expect(second.headers['retry-after']).toBe('1');
    expect((second.json() as ErrorBody).error).toBe('RATE_LIMITED');
    expect((await post(JSON.stringify(batch(5, 'r3')), auth(h.ingestKey))).statusCode).toBe(202); // other key unaffected
    h.clock.now += 1_000; // 5 tokens refilled
    expect((await post(JSON.stringify(batch(5, 'r4')), auth(slow))).statusCode).toBe(202);
  });

  it('Kafka unavailable → 503 with Retry-After; nothing half-accepted', async () => {
    h = await harness();
    h.sink.failNext = 1;
    const res = await post(JSON.stringify(batch(3, 'k')), auth(h.ingestKey));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    const body = res.json() as ErrorBody;
    expect(body.error).toBe('KAFKA_UNAVAILABLE');
    expect(body.results).toBeUndefined(); // no per-event "accepted" in a failed answer
    expect(h.sink.sends).toHaveLength(0);
    h.sink.ready = false;
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await post(JSON.stringify(batch(1, 'k2')), auth(h.ingestKey))).statusCode).toBe(503);
  });

  it('serves /healthz, /metrics and an OpenAPI document generated from the contract', async () => {
    h = await harness();
    await post(JSON.stringify(event()), auth(h.ingestKey), '/v1/events');
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/riskstream_ingest_events_total\{outcome="accepted"\} 1/);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      components: { schemas: { PaymentEvent: { required: string[]; additionalProperties: boolean } } };
    };
    expect(doc.components.schemas.PaymentEvent.additionalProperties).toBe(false);
    expect(doc.components.schemas.PaymentEvent.required).toContain('merchant_id');
  });
});

describe('key cache', () => {
  it('serves a known key while the store is down and applies a revocation after the refresh', async () => {
    h = await harness({ keyCacheTtlMs: 1_000 });
    const body = JSON.stringify(event());
    expect((await post(body, auth(h.ingestKey), '/v1/events')).statusCode).toBe(202);
    const original = h.keys.findByHash.bind(h.keys);
    h.keys.findByHash = async () => {
      throw new Error('store down');
    };
    h.clock.now += 2_000; // expired: served stale, refresh fails in the background
    expect((await post(body, auth(h.ingestKey), '/v1/events')).statusCode).toBe(202);
    h.keys.findByHash = original;
    const [record] = await h.keys.list();
    await h.keys.revoke(record!.keyId, h.clock.now);
    h.clock.now += 2_000;
    expect((await post(body, auth(h.ingestKey), '/v1/events')).statusCode).toBe(202); // triggers the refresh
    await new Promise((r) => setTimeout(r, 10));
    expect((await post(body, auth(h.ingestKey), '/v1/events')).statusCode).toBe(401);
  });
});
