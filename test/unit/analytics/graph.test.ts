import { describe, expect, it } from 'vitest';
import {
  analysePaymentGraph,
  buildPaymentGraph,
  type GraphEvent,
  graphContexts,
  ringScore,
} from '../../../src/analytics/graph.ts';
import { createRng } from '../../../src/analytics/prng.ts';

function world(seed: number) {
  const rng = createRng(seed);
  const events: GraphEvent[] = [];
  for (let i = 0; i < 3_000; i++) {
    const u = rng.int(400);
    // mostly a private device per user; sometimes a shared "family" device; some without device
    const device = rng.chance(0.1)
      ? undefined
      : rng.chance(0.05)
        ? `shared${rng.int(30)}`
        : `dev${u}-${rng.int(2)}`;
    events.push({
      user_id: `u${u}`,
      merchant_id: `m${rng.int(40)}`,
      ...(device ? { device_id: device } : {}),
    });
  }
  // a planted ring: 6 users on 2 devices
  for (let i = 0; i < 60; i++)
    events.push({
      user_id: `ring${i % 6}`,
      merchant_id: `m${i % 5}`,
      device_id: `rd${Math.floor(i / 6) % 2}`,
    });
  return events;
}

/** Brute force: union-find over users joined by a common device. */
function bruteComponents(events: readonly GraphEvent[]): Map<string, string[]> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const byDevice = new Map<string, string>();
  for (const e of events) {
    if (!parent.has(e.user_id)) parent.set(e.user_id, e.user_id);
    if (e.device_id === undefined) continue;
    const other = byDevice.get(e.device_id);
    if (other === undefined) byDevice.set(e.device_id, e.user_id);
    else parent.set(find(e.user_id), find(other));
  }
  const groups = new Map<string, string[]>();
  for (const u of parent.keys()) {
    const r = find(u);
    groups.set(r, [...(groups.get(r) ?? []), u]);
  }
  const out = new Map<string, string[]>();
  for (const members of groups.values()) for (const u of members) out.set(u, [...members].sort());
  return out;
}

describe('payment graph', () => {
  it('components and device sharing equal a union-find brute force', () => {
    for (const seed of [1, 2]) {
      const events = world(seed);
      const fraud = new Set(['ring0', 'u7']);
      const a = analysePaymentGraph(events, fraud);
      const brute = bruteComponents(events);
      expect(Object.keys(a.users).sort()).toEqual([...brute.keys()].sort());
      for (const [u, members] of brute) {
        const info = a.users[u]!;
        expect(info.componentUsers).toBe(members.length);
        expect(info.component).toBe(members[0]);
        expect(info.fraudUsersInComponent).toBe(members.filter((m) => fraud.has(m)).length);
        const devices = new Set(events.filter((e) => e.user_id === u && e.device_id).map((e) => e.device_id));
        const sharing = new Set(
          events.filter((e) => e.user_id !== u && devices.has(e.device_id)).map((e) => e.user_id),
        );
        expect(info.sharedDeviceUsers).toBe(sharing.size);
        expect(info.sharedWith).toEqual([...sharing].sort());
        expect(info.ringScore).toBe(ringScore(members.length, info.fraudUsersInComponent));
      }
      expect(a.users.ring3?.componentUsers).toBe(6);
      expect(a.users.ring3?.ringScore).toBeGreaterThan(a.users.u5?.ringScore ?? 1);
    }
  });

  it('PageRank is a distribution, communities exist, and the whole analysis is deterministic', () => {
    const events = world(3);
    const a = analysePaymentGraph(events, new Set());
    const b = analysePaymentGraph(events, new Set());
    expect(a).toEqual(b);
    const g = buildPaymentGraph(events);
    expect(a.nodes).toBe(g.order);
    expect(a.edges).toBe(g.size);
    expect(g.getEdgeAttribute('u:ring0', 'd:rd0', 'weight')).toBe(5); // 10 events, alternating devices
    const userRank = Object.values(a.users).reduce((s, u) => s + u.pageRank, 0);
    expect(userRank).toBeGreaterThan(0);
    expect(userRank).toBeLessThan(1);
    expect(a.communities).toBeGreaterThan(1);
    expect(analysePaymentGraph([], new Set())).toMatchObject({ nodes: 0, components: 0, users: {} });
  });

  it('ring score: 0 alone, monotone in size and known fraud, within [0, 1]', () => {
    expect(ringScore(1, 1)).toBe(0);
    let prev = 0;
    for (let n = 2; n < 50; n++) {
      const s = ringScore(n, 0);
      expect(s).toBeGreaterThan(prev);
      expect(s).toBeLessThan(0.8);
      prev = s;
      for (let f = 1; f <= n; f++) expect(ringScore(n, f)).toBeGreaterThan(ringScore(n, f - 1));
      expect(ringScore(n, n)).toBe(1);
    }
  });

  it('graph contexts keep only users that differ from the defaults', () => {
    const a = analysePaymentGraph(world(4), new Set());
    const ctx = graphContexts(a);
    expect(ctx.ring1).toEqual({ ringScore: ringScore(6, 0), componentSize: 6 });
    for (const [u, c] of Object.entries(ctx)) expect(c.componentSize > 1 || c.ringScore > 0, u).toBe(true);
    expect(Object.keys(ctx).length).toBeLessThan(Object.keys(a.users).length);
  });
});
