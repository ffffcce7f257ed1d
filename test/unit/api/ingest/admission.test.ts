import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryApiKeyStore } from '../../../../src/adapters/memory/api-key-store.ts';
import { InFlightBudget, requestCost } from '../../../../src/api/ingest/admission.ts';
import { buildIngestApp } from '../../../../src/api/ingest/app.ts';
import { newApiKey } from '../../../../src/api/ingest/auth.ts';
import type { RecordSink } from '../../../../src/api/ingest/ports.ts';
import type { WireRecord } from '../../../../src/contract/wire.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { silentLogger } from '../../../../src/runtime/logger.ts';
import { event, NOW } from './harness.ts';

describe('InFlightBudget', () => {
  it('admits up to the budget, always admits a request when idle, and frees on release', () => {
    const b = new InFlightBudget(100);
    expect([b.tryAdmit(60), b.tryAdmit(40), b.tryAdmit(1)]).toEqual([true, true, false]);
    b.release(60);
    expect([b.bytes, b.tryAdmit(61), b.tryAdmit(60)]).toEqual([40, false, true]);
    b.release(40);
    b.release(60);
    expect([b.bytes, b.tryAdmit(500)]).toEqual([0, true]); // alone, even above the budget
  });
  it('costs a request its declared length, or the body limit without one', () => {
    expect([requestCost('1200', 1_000_000), requestCost(undefined, 1_000_000), requestCost('abc', 5_000), requestCost('9999999', 5_000)]).toEqual([1200, 1_000_000, 5_000, 5_000]);
  });
});

/** A Kafka that acknowledges only when told to: requests stay in flight meanwhile. */
class HeldSink implements RecordSink {
  readonly held: { records: readonly WireRecord[]; ack: () => void }[] = [];
  isReady(): boolean {
    return true;
  }
  send(_topic: string, records: readonly WireRecord[]): Promise<void> {
    return new Promise((resolve) => this.held.push({ records, ack: resolve }));
  }
}

describe('ingest admission control over HTTP', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('past the in-flight budget: 503 OVERLOADED with Retry-After before the body is used; answered requests free it', async () => {
    const config = loadConfig({}, { api: { maxInFlightBytes: 3_000 }, kafka: { topicPrefix: 't.' } });
    const keys = new MemoryApiKeyStore();
    const k = newApiKey();
    await keys.put(k.hash, { keyId: k.keyId, name: 'test', scopes: ['ingest'], createdMs: NOW });
    const sink = new HeldSink();
    const registry = new Registry();
    const app = buildIngestApp({ config, sink, keys, logger: silentLogger(), registry, now: () => NOW });
    await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      app.server.closeAllConnections(); // undici keeps the test client's connections alive
      await app.close();
    };
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/events/batch`;
    const body = (prefix: string) => JSON.stringify(Array.from({ length: 6 }, (_, i) => event({ event_id: `${prefix}-${i}` }))); // 1,153 bytes
    const post = (payload: string) => fetch(url, { method: 'POST', headers: { 'x-api-key': k.key, 'content-type': 'application/json' }, body: payload });
    const inFlight = async () => (await registry.getSingleMetric('riskstream_ingest_in_flight_bytes')!.get()).values[0]?.value;

    const first = post(body('a'));
    const second = post(body('b'));
    while (sink.held.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(await inFlight()).toBe(2 * Buffer.byteLength(body('a')));
    const third = await post(body('c')); // 3 × 1,153 bytes > 3,000
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(((await third.json()) as { error: string }).error).toBe('OVERLOADED');
    expect(sink.held).toHaveLength(2); // the refused request never reached Kafka

    for (const h of sink.held.splice(0)) h.ack();
    expect([(await first).status, (await second).status]).toEqual([202, 202]);
    await new Promise((r) => setTimeout(r, 20)); // onResponse runs after the answer is written
    expect(await inFlight()).toBe(0);
    const fourth = post(body('d'));
    while (sink.held.length < 1) await new Promise((r) => setTimeout(r, 5));
    sink.held[0]!.ack();
    expect((await fourth).status).toBe(202);

    // a client that gives up mid-request frees its share too
    const abort = new AbortController();
    const gone = fetch(url, { method: 'POST', headers: { 'x-api-key': k.key, 'content-type': 'application/json' }, body: body('e'), signal: abort.signal }).catch(() => 'aborted');
    while (sink.held.length < 2) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    expect(await gone).toBe('aborted');
    sink.held[1]!.ack();
    await new Promise((r) => setTimeout(r, 50));
    expect(await inFlight()).toBe(0);
  });
});
