// k6 load test of the lookup API (PRODUCT §6): GET /v1/users/{id}/risk for users that have a
// live score, open loop. `npm run load:k6` seeds the scores and runs it; by hand:
//
//   bash scripts/k6.sh run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=rsk_... -e USERS_FILE=users.json load-tests/k6-lookup.js
//
// RATE requests/s (default 2,000) for DURATION (60s), p99 < P99_MS (10); USERS_FILE is a JSON
// array of user ids (each request picks one at random); every answer must be 200 with a score.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const RATE = Number(__ENV.RATE || 2000);
const HEADERS = { 'x-api-key': __ENV.API_KEY };
const users = new SharedArray('users', () => JSON.parse(open(__ENV.USERS_FILE)));

export const options = {
  scenarios: {
    lookup: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '60s', preAllocatedVUs: Math.max(10, RATE / 10), exec: 'lookup' },
  },
  thresholds: {
    'http_req_duration{scenario:lookup}': [`p(99)<${Number(__ENV.P99_MS || 10)}`],
    'checks{scenario:lookup}': ['rate>0.999'],
  },
};

export function lookup() {
  const user = users[Math.floor(Math.random() * users.length)];
  const res = http.get(`${BASE}/v1/users/${encodeURIComponent(user)}/risk`, { headers: HEADERS, tags: { name: '/v1/users/{id}/risk' } });
  check(res, { 'scored user': (r) => r.status === 200 && typeof r.json('score') === 'number' });
}
