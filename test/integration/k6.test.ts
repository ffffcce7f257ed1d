import { describe, expect, it } from 'vitest';
import { runK6Local } from '../../load-tests/k6-local.ts';

// The k6 load tests themselves (load-tests/k6-ingest.js, k6-lookup.js) on the local stack, at a
// CI size: k6 built from source (scripts/k6.sh), results pushed to the stack's Prometheus.
// Speed is the benchmarks' business (`npm run load:k6` at full rate, on a quiet machine), so the
// latency thresholds are loose here; what is asserted is what the load did: every event k6 saw
// accepted is in Kafka exactly once and nothing else is, every lookup found its score.
describe('k6 load tests on the local stack', () => {
  it('ingest: accepted events are in Kafka exactly once; lookup: every scored user answers 200', async () => {
    const seconds = 5;
    const plan = { single: 100 * seconds, batches: 4 * seconds, batchSize: 100, lookups: 200 * seconds };
    const report = await runK6Local({
      seconds, rate: 100, batchRate: 4, batchSize: plan.batchSize, lookupRate: 200, users: 500, ingestP99Ms: 5_000, lookupP99Ms: 5_000,
    });
    const i = report.ingest;
    expect(i.exitCode).toBe(0); // thresholds: every check passed (202s), latency under the loose bound
    // constant-arrival-rate runs rate × duration iterations (+1 at the boundary) unless k6 ran out of VUs
    expect(i.singleRequests).toBeGreaterThanOrEqual(plan.single * 0.95);
    expect(i.batchRequests).toBeGreaterThanOrEqual(plan.batches * 0.95);
    expect(i.acceptedEvents).toBe(i.singleRequests + i.batchRequests * plan.batchSize);
    expect(i.kafkaRecords).toBe(i.acceptedEvents);
    expect(i.distinctEventIds).toBe(i.kafkaRecords);
    expect(i.foreignRecords).toBe(0);
    const l = report.lookup;
    expect(l.exitCode).toBe(0);
    expect(l.requests).toBeGreaterThanOrEqual(plan.lookups * 0.95);
    expect([l.checksPassed, l.checksFailed]).toEqual([l.requests, 0]);
    expect(report.apiSurvived).toBe(true);
    expect(report.prometheusSeries).toBeGreaterThan(0); // k6 pushed its metrics with this run's testid
  }, 600_000);
});
