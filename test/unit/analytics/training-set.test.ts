import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, resolveUserFeatureConfig } from '../../../src/analytics/user-features.ts';
import { buildTrainingSet, type TrainingStreamItem } from '../../../src/analytics/training-set.ts';
import { ringScore } from '../../../src/analytics/graph.ts';
import { recomputeUserFeaturesBruteForce } from './user-features.oracle.ts';

const HOUR = 3_600_000;
const col = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);

function item(id: string, user: string, ts: number, device: string, isFraud = false): TrainingStreamItem {
  return {
    event: {
      event_id: id,
      user_id: user,
      ts_ms: ts,
      amount: 10,
      merchant_id: 'm1',
      status: 'captured',
      device_id: device,
    },
    isFraud,
  };
}

describe('training set replay', () => {
  it('dedups, skips late events, and uses only past graph rebuilds and labels', () => {
    const stream: TrainingStreamItem[] = [
      item('e1', 'a', 0, 'shared', true),
      item('e2', 'b', 10 * 60_000, 'shared', true),
      item('e1', 'a', 0, 'shared', true), // duplicate
      item('e3', 'c', 2 * HOUR, 'own-c'), // triggers the first rebuild (every hour)
      item('e4', 'a', 2 * HOUR + 1, 'shared', true),
      item('e5', 'c', 0, 'own-c'), // 2 h behind: late with 20 min lateness
      item('e6', 'b', 5 * HOUR, 'shared', true), // second rebuild: a's label is known by now
    ];
    const labels = [{ user_id: 'a', label: 'fraud' as const, label_ts_ms: 3 * HOUR }];
    const set = buildTrainingSet(stream, labels, {
      features: resolveUserFeatureConfig(),
      graphRebuildEveryMs: HOUR,
    });
    expect(set.skippedDuplicates).toBe(1);
    expect(set.skippedLate).toBe(1);
    expect(set.graphRebuilds).toBe(2);
    expect(set.userIds).toEqual(['a', 'b', 'c', 'a', 'b']);
    expect(set.labels).toEqual([1, 1, 0, 1, 1]);
    const ring = set.rows.map((r) => r[col('graph_ring_score')]);
    const size = set.rows.map((r) => r[col('graph_component_size')]);
    expect(size).toEqual([1, 1, 1, 2, 2]); // no graph before the first rebuild
    expect(ring[3]).toBe(ringScore(2, 0)); // the label (3 h) was not known at the 2 h rebuild
    expect(ring[4]).toBe(ringScore(2, 1));
    expect(ring[2]).toBe(0);
  });

  it('rows equal the oracle features of each user (graph aside)', () => {
    const stream: TrainingStreamItem[] = [];
    for (let i = 0; i < 300; i++) {
      const u = `u${i % 7}`;
      stream.push({
        event: {
          event_id: `e${i}`,
          user_id: u,
          ts_ms: i * 137_000 - (i % 5) * 60_000,
          amount: (i * 37) % 500,
          merchant_id: `m${i % 11}`,
          status: i % 4 === 0 ? 'failed' : 'captured',
          device_id: `d${i % 9}`,
        },
        isFraud: false,
      });
    }
    const set = buildTrainingSet(stream, [], {
      features: resolveUserFeatureConfig(),
      graphRebuildEveryMs: 1e12,
    });
    for (const u of new Set(set.userIds)) {
      const expected = recomputeUserFeaturesBruteForce(
        stream.filter((s) => s.event.user_id === u).map((s) => s.event),
      );
      const rows = set.rows.filter((_, i) => set.userIds[i] === u);
      rows.forEach((r, i) => {
        FEATURE_NAMES.forEach((name, j) => {
          expect(r[j], `${u} #${i} ${name}`).toBeCloseTo(expected[i]![name], 8);
        });
      });
    }
  });
});
