import { describe, expect, it } from 'vitest';
import { amountToUnits, unitsToAmount } from '../../../src/analytics/money.ts';
import { createRng } from '../../../src/analytics/prng.ts';
import {
  addEvent,
  closeWindows,
  emptyWindowState,
  isLate,
  liveWindowRows,
  resolveWindowConfig,
  type WindowConfig,
  type WindowEvent,
  type WindowRow,
  windowStartsFor,
} from '../../../src/analytics/windows.ts';

const STATUSES = ['authorized', 'captured', 'refunded', 'failed'];

/** Out-of-order events: ts drifts forward, each event displaced by up to `jitterMs`. */
function genEvents(seed: number, n: number, users: number, jitterMs: number): WindowEvent[] {
  const rng = createRng(seed);
  let clock = 1_700_000_000_000 + rng.int(60_000);
  const out: WindowEvent[] = [];
  for (let i = 0; i < n; i++) {
    clock += rng.int(2_000);
    out.push({
      ts_ms: clock - rng.int(jitterMs),
      status: rng.pick(STATUSES),
      amount: rng.int(100_000) / 100,
      user_id: `u${rng.int(users)}`,
    });
  }
  return out;
}

/** Brute force: every window [s, s+W) with s ≡ 0 mod slide, straight from the accepted events. */
function bruteForce(events: readonly WindowEvent[], cfg: WindowConfig): Map<string, WindowRow> {
  const acc = new Map<string, { row: WindowRow; units: number; users: Set<string> }>();
  for (const e of events) {
    const first = Math.ceil((e.ts_ms - cfg.windowMs + 1) / cfg.slideMs) * cfg.slideMs;
    for (let s = first; s <= e.ts_ms; s += cfg.slideMs) {
      if (!(s <= e.ts_ms && e.ts_ms < s + cfg.windowMs)) throw new Error('bad brute force');
      const key = `${s}|${e.status}`;
      const a = acc.get(key) ?? {
        row: {
          window_start: s,
          window_end: s + cfg.windowMs,
          status: e.status,
          cnt: 0,
          sum_amount: 0,
          n_users: 0,
        },
        units: 0,
        users: new Set<string>(),
      };
      acc.set(key, a);
      a.row.cnt++;
      a.units += amountToUnits(e.amount);
      a.users.add(e.user_id);
    }
  }
  const out = new Map<string, WindowRow>();
  for (const [k, a] of acc)
    out.set(k, { ...a.row, sum_amount: unitsToAmount(a.units), n_users: a.users.size });
  return out;
}

function run(cfg: WindowConfig, seed: number, latenessMs: number, jitterMs: number, users: number) {
  const events = genEvents(seed, 4_000, users, jitterMs);
  const state = emptyWindowState();
  const accepted: WindowEvent[] = [];
  const emitted: WindowRow[] = [];
  let late = 0;
  let maxTs = Number.NEGATIVE_INFINITY;
  let maxPanes = 0;
  events.forEach((e, i) => {
    maxTs = Math.max(maxTs, e.ts_ms);
    const watermark = maxTs - latenessMs;
    if (e.ts_ms < watermark) {
      late++; // the actor's rule (PRODUCT §3): older than the watermark → late DLQ
      return;
    }
    expect(addEvent(state, e, cfg)).toBe('added');
    accepted.push(e);
    if (i % 17 === 0) emitted.push(...closeWindows(state, watermark, cfg));
    maxPanes = Math.max(maxPanes, Object.keys(state.panes).length);
  });
  emitted.push(...closeWindows(state, maxTs + cfg.windowMs + 1, cfg));
  return { state, accepted, emitted, late, maxPanes };
}

describe('sliding windows from panes', () => {
  it('resolves the pane size as gcd and rejects bad geometry', () => {
    expect(resolveWindowConfig()).toEqual({ windowMs: 300_000, slideMs: 60_000, paneMs: 60_000 });
    expect(resolveWindowConfig({ windowMs: 300_000, slideMs: 120_000 }).paneMs).toBe(60_000);
    expect(resolveWindowConfig({ windowMs: 600_000, slideMs: 150_000 }).paneMs).toBe(150_000);
    expect(() => resolveWindowConfig({ slideMs: 0 })).toThrow(RangeError);
    expect(() => resolveWindowConfig({ windowMs: 1.5 })).toThrow(RangeError);
    expect(() => resolveWindowConfig({ windowMs: 60_000, slideMs: 120_000 })).toThrow(RangeError);
  });

  it('windowStartsFor lists exactly the windows containing t', () => {
    const rng = createRng(3);
    for (const cfg of [resolveWindowConfig(), resolveWindowConfig({ windowMs: 300_000, slideMs: 120_000 })]) {
      for (let i = 0; i < 500; i++) {
        const t = rng.int(10_000_000);
        const starts = windowStartsFor(t, cfg);
        const brute: number[] = [];
        for (let s = -cfg.slideMs * Math.ceil(cfg.windowMs / cfg.slideMs); s <= t; s += cfg.slideMs) {
          if (t < s + cfg.windowMs) brute.push(s);
        }
        expect(starts).toEqual(brute);
      }
    }
  });

  for (const [label, opts] of [
    ['5m/1m', {}],
    ['5m/2m (pane 1m, window not a multiple of slide)', { windowMs: 300_000, slideMs: 120_000 }],
    ['10m/2.5m', { windowMs: 600_000, slideMs: 150_000 }],
  ] as const) {
    it(`${label}: every final row equals the brute force, each window emitted once`, () => {
      const cfg = resolveWindowConfig(opts);
      for (const seed of [1, 2, 3]) {
        const { accepted, emitted, late, maxPanes } = run(cfg, seed, 120_000, 180_000, 60);
        expect(late).toBeGreaterThan(0); // the generator does produce late events
        const brute = bruteForce(accepted, cfg);
        const keys = emitted.map((r) => `${r.window_start}|${r.status}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(emitted.length).toBe(brute.size);
        for (const row of emitted) expect(row).toEqual(brute.get(`${row.window_start}|${row.status}`));
        // emission order: by window start, then status
        const sorted = [...emitted].sort(
          (a, b) => a.window_start - b.window_start || a.status.localeCompare(b.status),
        );
        expect(emitted).toEqual(sorted);
        // bounded state: about (window + lateness + disorder) / pane panes, never the whole history
        expect(maxPanes).toBeLessThanOrEqual((cfg.windowMs + 120_000 + 180_000) / cfg.paneMs + 40);
      }
    });
  }

  it('distinct users stay within 2% when panes hold thousands of users', () => {
    const cfg = resolveWindowConfig();
    const state = emptyWindowState();
    const rng = createRng(11);
    const users = new Set<string>();
    for (let i = 0; i < 30_000; i++) {
      const u = `user-${rng.int(20_000)}`;
      users.add(u);
      addEvent(state, { ts_ms: 600_000 + rng.int(300_000), status: 'captured', amount: 1, user_id: u }, cfg);
    }
    const rows = closeWindows(state, 2_000_000, cfg);
    const full = rows.find((r) => r.window_start === 600_000);
    expect(full?.cnt).toBe(30_000);
    expect(Math.abs((full?.n_users ?? 0) - users.size) / users.size).toBeLessThanOrEqual(0.02);
  });

  it('refuses late events and never re-emits a final window', () => {
    const cfg = resolveWindowConfig();
    const state = emptyWindowState();
    addEvent(state, { ts_ms: 1_000_000, status: 'failed', amount: 5, user_id: 'a' }, cfg);
    const first = closeWindows(state, 1_320_000, cfg);
    expect(first.length).toBeGreaterThan(0);
    expect(closeWindows(state, 1_320_000, cfg)).toEqual([]);
    expect(closeWindows(state, 1_000_000, cfg)).toEqual([]);
    // 1_000_000 belongs to windows ending up to 1_260_000 ≤ closedThrough: all final
    expect(isLate(state, 1_000_000, cfg)).toBe(true);
    expect(addEvent(state, { ts_ms: 1_000_000, status: 'failed', amount: 5, user_id: 'b' }, cfg)).toBe(
      'late',
    );
    // t = watermark: its earliest window ends after the watermark, so it is still open
    expect(isLate(state, 1_320_000, cfg)).toBe(false);
    expect(() => addEvent(state, { ts_ms: Number.NaN, status: 'x', amount: 1, user_id: 'a' }, cfg)).toThrow();
    expect(Object.keys(state.panes)).toEqual([]); // pruned, and the throw mutated nothing
  });

  it('live rows equal the brute force over open windows, and survive a JSON round trip', () => {
    const cfg = resolveWindowConfig();
    const events = genEvents(9, 500, 30, 60_000);
    let state = emptyWindowState();
    for (const e of events.slice(0, 300)) addEvent(state, e, cfg);
    const wm = Math.max(...events.slice(0, 300).map((e) => e.ts_ms)) - 300_000;
    closeWindows(state, wm, cfg);
    state = JSON.parse(JSON.stringify(state));
    const live = liveWindowRows(state, cfg);
    const brute = bruteForce(events.slice(0, 300), cfg);
    const open = [...brute.values()].filter((r) => r.window_end > wm);
    expect(live.length).toBe(open.length);
    for (const r of live) expect(r).toEqual(brute.get(`${r.window_start}|${r.status}`));
  });
});
