// k6 load test of the ingest API (PRODUCT §6). Not part of `npm test`; the Node benchmark
// (`npm run bench:ingest`) is the one CI-able measurement, this is for clusters with k6.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=rsk_... load-tests/k6-ingest.js
//
// Scenarios: `single` 1,000 req/s open loop (constant-arrival-rate) for 60 s with p99 < 20 ms;
// `batch` 20 batches/s × 1,000 events (20,000 events/s) for 60 s.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const KEY = __ENV.API_KEY;
const HEADERS = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const STATUSES = ['authorized', 'captured', 'refunded', 'failed'];

export const options = {
  scenarios: {
    single: { executor: 'constant-arrival-rate', rate: 1000, timeUnit: '1s', duration: '60s', preAllocatedVUs: 200, exec: 'single' },
    batch: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '60s', preAllocatedVUs: 40, exec: 'batch', startTime: '65s' },
  },
  thresholds: {
    'http_req_duration{scenario:single}': ['p(99)<20'],
    'checks{scenario:batch}': ['rate>0.999'],
  },
};

function event(i) {
  return {
    event_id: `k6-${__VU}-${__ITER}-${i}-${Date.now()}`,
    ts_ms: Date.now() - 1000,
    user_id: `u_${Math.floor(Math.random() * 10000)}`,
    merchant_id: `m_${Math.floor(Math.random() * 500)}`,
    amount: Math.round(Math.random() * 50000) / 100,
    currency: 'USD',
    country: 'VN',
    device_id: `d_${Math.floor(Math.random() * 50000)}`,
    status: STATUSES[Math.floor(Math.random() * STATUSES.length)],
    metadata: { channel: 'k6' },
  };
}

export function single() {
  const res = http.post(`${BASE}/v1/events`, JSON.stringify(event(0)), { headers: HEADERS });
  check(res, { accepted: (r) => r.status === 202 });
}

export function batch() {
  const body = Array.from({ length: 1000 }, (_, i) => JSON.stringify(event(i))).join('\n');
  const res = http.post(`${BASE}/v1/events/batch`, body, { headers: { ...HEADERS, 'content-type': 'application/x-ndjson' } });
  check(res, { 'all accepted': (r) => r.status === 202 });
}
