import { createRequire } from 'node:module';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { installRequestQueueFix } from '../../../../src/adapters/kafka/request-queue-fix.ts';

/** kafkajs's internal per-connection queue, driven here without a broker. */
interface Queue {
  pending: unknown[];
  push(request: { entry: Entry; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
}
interface Entry {
  correlationId: number;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => Queue;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function harness(maxInFlightRequests = 1) {
  const queue = new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b:1', logger: quiet });
  const sent: number[] = [];
  let next = 1;
  const push = () => {
    const correlationId = next++;
    queue.push({
      entry: { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 7, resolve: () => undefined, reject: () => undefined },
      expectResponse: true,
      sendRequest: () => sent.push(correlationId),
    });
    return correlationId;
  };
  const answer = (correlationId: number) => queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  return { queue, sent, push, answer };
}

describe('kafkajs RequestQueue fix', () => {
  const delays: number[] = [];
  beforeAll(() => {
    expect(installRequestQueueFix()).toBe(true); // false means kafkajs changed: re-check the bug
  });
  const useTimers = () => {
    vi.useFakeTimers();
    delays.length = 0;
    const fake = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return fake(fn, ms);
    }) as typeof setTimeout);
  };
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('leaves no timer behind once every response arrived (upstream polls every 1 ms forever)', () => {
    useTimers();
    const h = harness();
    h.answer(h.push());
    expect(h.sent).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(delays).toEqual([]); // upstream: about 1,000 timers here, the first with delay -1 - Date.now()
  });

  it('sends a request queued behind the in-flight limit as soon as the one before is answered', () => {
    useTimers();
    const h = harness(1);
    const first = h.push();
    const second = h.push();
    expect(h.sent).toEqual([first]);
    expect(h.queue.pending).toHaveLength(1);
    h.answer(first);
    expect(h.sent).toEqual([first, second]);
    h.answer(second);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    expect(delays.every((d) => d >= 0)).toBe(true);
  });

  it('holds requests during a broker throttle and sends them when it ends', () => {
    useTimers();
    const h = harness(5);
    h.queue.maybeThrottle(50);
    const id = h.push();
    expect(h.sent).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(h.sent).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(h.sent).toEqual([id]);
    h.answer(id);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is idempotent', () => {
    const before = (RequestQueue.prototype as { scheduleCheckPendingRequests: unknown }).scheduleCheckPendingRequests;
    expect(installRequestQueueFix()).toBe(true);
    expect((RequestQueue.prototype as { scheduleCheckPendingRequests: unknown }).scheduleCheckPendingRequests).toBe(before);
  });
});
