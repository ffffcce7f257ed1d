// k6 load test of the ingest API (PRODUCT §6). `npm run load:k6` runs it (and k6-lookup.js)
// against the local stack; by hand, with k6 from `bash scripts/k6.sh`:
//
//   bash scripts/k6.sh run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=rsk_... load-tests/k6-ingest.js
//
// Scenarios: `single` RATE single-event requests/s open loop (constant-arrival-rate; default
// 1,000/s) for DURATION (60s) with p99 < P99_MS (20); then `batch` BATCH_RATE batches/s of
// BATCH_SIZE events (20 × 1,000 = 20,000 events/s) for DURATION. Event ids are
// `<RUN_ID>-s-<n>` and `<RUN_ID>-b-<n>-<i>`, unique per run, so a checker can count them in Kafka;
// `accepted_events` counts the events the API accepted (202).
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const KEY = __ENV.API_KEY;
const RUN = __ENV.RUN_ID || `k6${Date.now().toString(36)}`;
const RATE = Number(__ENV.RATE || 1000);
const BATCH_RATE = Number(__ENV.BATCH_RATE || 20);
const BATCH_SIZE = Number(__ENV.BATCH_SIZE || 1000);
const DURATION = __ENV.DURATION || '60s';
const seconds = Number.parseInt(DURATION, 10);
const HEADERS = { 'x-api-key': KEY, 'content-type': 'application/json' };
const STATUSES = ['authorized', 'captured', 'refunded', 'failed'];
const accepted = new Counter('accepted_events');

export const options = {
  scenarios: {
    single: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: Math.max(10, RATE / 5), exec: 'single' },
    batch: {
      executor: 'constant-arrival-rate', rate: BATCH_RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: Math.max(4, BATCH_RATE * 2),
      exec: 'batch', startTime: `${seconds + 5}s`,
    },
  },
  thresholds: {
    'http_req_duration{scenario:single}': [`p(99)<${Number(__ENV.P99_MS || 20)}`],
    'checks{scenario:single}': ['rate>0.999'],
    'checks{scenario:batch}': ['rate>0.999'],
  },
};

function event(id) {
  return {
    event_id: id,
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
  const res = http.post(`${BASE}/v1/events`, JSON.stringify(event(`${RUN}-s-${exec.scenario.iterationInTest}`)), { headers: HEADERS });
  if (check(res, { accepted: (r) => r.status === 202 })) accepted.add(1);
}

export function batch() {
  const n = exec.scenario.iterationInTest;
  const body = Array.from({ length: BATCH_SIZE }, (_, i) => JSON.stringify(event(`${RUN}-b-${n}-${i}`))).join('\n');
  const res = http.post(`${BASE}/v1/events/batch`, body, { headers: { ...HEADERS, 'content-type': 'application/x-ndjson' } });
  if (res.status === 202 || res.status === 207) accepted.add(res.json('accepted'));
  check(res, { 'all accepted': (r) => r.status === 202 });
}
