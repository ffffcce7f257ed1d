import { describe, expect, it } from 'vitest';
import { runGraphRebuild } from '../../../src/batch/graph-rebuild.ts';
import type { FraudLabel } from '../../../src/contract/label.ts';
import { createRng } from '../../../src/analytics/prng.ts';
import { jobContext, MemoryGraph, MemoryLabels, MemoryLake } from '../../support/batch-memory.ts';
import { userDeviceComponents } from '../../support/graph-oracle.ts';

const DAY = 86_400_000;
const AS_OF = Date.UTC(2026, 0, 10);

/** Independent oracle: union-find components, ring score by the documented formula. */
function oracle(events: { user_id: string; device_id?: string | undefined }[], fraud: Set<string>) {
  const out: Record<string, { ringScore: number; componentSize: number }> = {};
  for (const [u, users] of userDeviceComponents(events)) {
    const n = users.length;
    if (n < 2) continue;
    const f = users.filter((x) => fraud.has(x)).length;
    const structural = (0.8 * (n - 1)) / (n - 1 + 3);
    out[u] = { ringScore: 1 - (1 - structural) * (1 - Math.min(1, f / n)), componentSize: n };
  }
  return out;
}

describe('graph rebuild job', () => {
  it('publishes each shared-device user ring score and component size, equal to a union-find recomputation', async () => {
    const rng = createRng(7);
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 3_000; i += 1) {
      const user = `u${Math.floor(rng.next() * 600)}`;
      // most users have their own device; a few devices are shared (rings)
      const device = rng.next() < 0.1 ? `shared${Math.floor(rng.next() * 20)}` : rng.next() < 0.9 ? `own-${user}` : undefined;
      rows.push({ event_id: `e${i}`, ts_ms: AS_OF - Math.floor(rng.next() * 20 * DAY), user_id: user, merchant_id: `m${i % 30}`, amount: 10, currency: 'USD', country: 'VN', status: 'captured', device_id: device });
    }
    rows.push({ ...rows[0], device_id: 'dup-device' }); // a repeated event id: the first copy counts
    rows.push({ event_id: 'old', ts_ms: AS_OF - 40 * DAY, user_id: 'u1', merchant_id: 'm1', amount: 1, device_id: 'shared1', status: 'captured' });
    const labels: FraudLabel[] = [
      { event_id: 'e1', user_id: String(rows[1]?.user_id), label: 'fraud', label_ts_ms: AS_OF - DAY, event_ts_ms: 0 },
      { event_id: 'e2', user_id: String(rows[2]?.user_id), label: 'fraud', label_ts_ms: AS_OF + DAY, event_ts_ms: 0 }, // future: ignored
      { event_id: 'e3', user_id: String(rows[3]?.user_id), label: 'legit', label_ts_ms: AS_OF - DAY, event_ts_ms: 0 },
    ];
    const graph = new MemoryGraph();
    const ctx = jobContext(AS_OF);
    const result = await runGraphRebuild({ lake: new MemoryLake(rows), labels: new MemoryLabels(labels), graph }, { lookbackMs: 30 * DAY }, ctx);

    const inRange = rows.slice(0, 3_000) as { user_id: string; device_id?: string }[];
    const expected = oracle(inRange, new Set([String(rows[1]?.user_id)]));
    expect(graph.published).toHaveLength(1);
    const snap = graph.published[0]!;
    expect(snap.id).toBe(String(AS_OF));
    expect(Object.keys(snap.contexts).sort()).toEqual(Object.keys(expected).sort());
    for (const [u, c] of Object.entries(expected)) {
      expect(snap.contexts[u]?.componentSize, u).toBe(c.componentSize);
      expect(snap.contexts[u]?.ringScore, u).toBeCloseTo(c.ringScore, 12);
    }
    expect(Object.keys(expected).length).toBeGreaterThan(20); // the data has rings to find
    expect(result).toMatchObject({ events: 3_000, knownFraudUsers: 1, usersWithContext: Object.keys(expected).length });
    expect(result.ringUsers).toBe(Object.values(expected).filter((c) => c.ringScore >= 0.5).length);
    expect(ctx.progressSeen.at(-1)).toBe(100);
  });

  it('the same inputs and as-of time publish the same snapshot (a retried job is idempotent)', async () => {
    const rows = [
      { event_id: 'a', ts_ms: AS_OF - 1, user_id: 'x', merchant_id: 'm', device_id: 'd', status: 'captured', amount: 1 },
      { event_id: 'b', ts_ms: AS_OF - 2, user_id: 'y', merchant_id: 'm', device_id: 'd', status: 'captured', amount: 1 },
      { event_id: 'c', ts_ms: AS_OF, user_id: 'z', merchant_id: 'm', device_id: 'd', status: 'captured', amount: 1 }, // at as-of: excluded
    ];
    const graph = new MemoryGraph();
    for (let i = 0; i < 2; i += 1) {
      await runGraphRebuild({ lake: new MemoryLake(rows), labels: new MemoryLabels([]), graph }, { lookbackMs: DAY }, jobContext(AS_OF));
    }
    expect(graph.published[0]).toEqual(graph.published[1]);
    const contexts = graph.published[0]?.contexts ?? {};
    expect(Object.keys(contexts).sort()).toEqual(['x', 'y']);
    for (const u of ['x', 'y']) {
      expect(contexts[u]?.componentSize).toBe(2);
      expect(contexts[u]?.ringScore).toBeCloseTo(0.2, 12); // 0.8 · 1 / (1 + 3), no known fraud
    }
  });
});
