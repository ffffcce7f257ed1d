/**
 * Event-time sliding windows built from panes (PRODUCT §3): per merchant and status, `cnt`,
 * `sum_amount` and approximate distinct users for windows of `windowMs` sliding by `slideMs`.
 *
 * Why panes: an event belongs to windowMs/slideMs overlapping windows (5 with the defaults).
 * Storing each window would multiply state and updates by that factor; instead each event updates
 * exactly one pane of gcd(windowMs, slideMs), and a window is the merge of its panes, done once
 * when it closes (or on demand for early values).
 *
 * Window alignment follows Spark's `window(col, "5 minutes", "1 minute")`: starts are multiples of
 * slideMs since the epoch; a window is [start, start + windowMs).
 *
 * State (plain JSON, mutated in place by the functions below; callers persist it as is):
 *   { v: 1,
 *     closedThrough: number | null,   // every window with end ≤ this has been emitted (final)
 *     panes: { "<paneStart>": { "<status>": { cnt, sumUnits, users: Hll } } } }
 * Invariants: a pane exists only if it received an event; panes that no open window can need are
 * pruned when windows close, so the state holds about (windowMs + lateness) / paneMs panes.
 * Each function validates before it mutates, so a throw leaves the state untouched.
 */
import { type Hll, hllAdd, hllEmpty, hllUnionCount } from './hll.ts';
import { amountToUnits, unitsToAmount } from './money.ts';

/** Window geometry; build it with {@link resolveWindowConfig}. */
export interface WindowConfig {
  readonly windowMs: number;
  readonly slideMs: number;
  /** gcd(windowMs, slideMs): every window is a whole number of panes. */
  readonly paneMs: number;
}

/** One pane of one status. `sumUnits` is in {@link amountToUnits} units so sums are exact. */
export interface PaneAgg {
  cnt: number;
  sumUnits: number;
  users: Hll;
}

/** Per-merchant window state. */
export interface WindowState {
  v: 1;
  closedThrough: number | null;
  panes: Record<string, Record<string, PaneAgg>>;
}

/** The fields of a payment event the windows read. */
export interface WindowEvent {
  readonly ts_ms: number;
  readonly status: string;
  readonly amount: number;
  readonly user_id: string;
}

/** One window of one status, as written to Cassandra and the output topic. */
export interface WindowRow {
  window_start: number;
  window_end: number;
  status: string;
  cnt: number;
  sum_amount: number;
  n_users: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Validates and freezes window options. Defaults: 5-minute windows sliding by 1 minute.
 * @throws RangeError on non-positive or non-integer sizes, or a slide longer than the window
 */
export function resolveWindowConfig(opts: { windowMs?: number; slideMs?: number } = {}): WindowConfig {
  const windowMs = opts.windowMs ?? 300_000;
  const slideMs = opts.slideMs ?? 60_000;
  for (const [name, v] of [
    ['windowMs', windowMs],
    ['slideMs', slideMs],
  ] as const) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  // A slide longer than the window would leave gaps that no window covers: events there would
  // count nowhere, which is never what a risk team wants from a "sliding" window.
  if (slideMs > windowMs) throw new RangeError(`slideMs (${slideMs}) must not exceed windowMs (${windowMs})`);
  return Object.freeze({ windowMs, slideMs, paneMs: gcd(windowMs, slideMs) });
}

/** A new, empty state. */
export function emptyWindowState(): WindowState {
  return { v: 1, closedThrough: null, panes: {} };
}

/** Start of the pane holding event time t. */
export function paneStartOf(t: number, cfg: WindowConfig): number {
  return Math.floor(t / cfg.paneMs) * cfg.paneMs;
}

/** Smallest multiple of slideMs strictly greater than x. */
function nextSlideAfter(x: number, cfg: WindowConfig): number {
  return (Math.floor(x / cfg.slideMs) + 1) * cfg.slideMs;
}

/** Starts of every window containing event time t, ascending. */
export function windowStartsFor(t: number, cfg: WindowConfig): number[] {
  const starts: number[] = [];
  for (let s = nextSlideAfter(t - cfg.windowMs, cfg); s <= t; s += cfg.slideMs) starts.push(s);
  return starts;
}

/** True when some window containing t is already final: adding t would change emitted results. */
export function isLate(state: WindowState, t: number, cfg: WindowConfig): boolean {
  if (state.closedThrough === null) return false;
  return nextSlideAfter(t - cfg.windowMs, cfg) + cfg.windowMs <= state.closedThrough;
}

/**
 * Adds one (deduplicated) event to its pane. Late events are refused, not added, so a final
 * window never changes; the caller routes them to the late dead-letter topic.
 */
export function addEvent(state: WindowState, ev: WindowEvent, cfg: WindowConfig): 'added' | 'late' {
  if (!Number.isSafeInteger(ev.ts_ms)) throw new RangeError(`ts_ms must be an integer, got ${ev.ts_ms}`);
  if (!Number.isFinite(ev.amount)) throw new RangeError(`amount must be finite, got ${ev.amount}`);
  if (isLate(state, ev.ts_ms, cfg)) return 'late';
  const key = String(paneStartOf(ev.ts_ms, cfg));
  const byStatus = state.panes[key] ?? {};
  state.panes[key] = byStatus;
  const pane = byStatus[ev.status] ?? { cnt: 0, sumUnits: 0, users: hllEmpty() };
  byStatus[ev.status] = pane;
  pane.cnt += 1;
  pane.sumUnits += amountToUnits(ev.amount);
  pane.users = hllAdd(pane.users, ev.user_id);
  return 'added';
}

/** The panes holding data, by start ascending (one listing per close, not a key lookup per pane and window). */
type PaneList = readonly { readonly start: number; readonly byStatus: Record<string, PaneAgg> }[];

function paneList(state: WindowState): PaneList {
  const list: { start: number; byStatus: Record<string, PaneAgg> }[] = [];
  for (const key in state.panes) list.push({ start: Number(key), byStatus: state.panes[key] as Record<string, PaneAgg> });
  return list.sort((x, y) => x.start - y.start);
}

/** Ends of windows holding data that `keep` accepts, ascending. */
function windowEnds(list: PaneList, cfg: WindowConfig, keep: (end: number) => boolean): number[] {
  const ends = new Set<number>();
  for (const { start: ps } of list) {
    // pane [ps, ps+paneMs) lies inside [s, s+W) iff s ≤ ps and s + W ≥ ps + paneMs
    for (let s = nextSlideAfter(ps + cfg.paneMs - cfg.windowMs - 1, cfg); s <= ps; s += cfg.slideMs) {
      if (keep(s + cfg.windowMs)) ends.add(s + cfg.windowMs);
    }
  }
  return [...ends].sort((a, b) => a - b);
}

/** Ends of windows that hold data, are not yet emitted and are final at `watermark`, ascending. */
export function dueWindowEnds(state: WindowState, watermark: number, cfg: WindowConfig): number[] {
  const closed = state.closedThrough;
  return windowEnds(paneList(state), cfg, (e) => e <= watermark && (closed === null || e > closed));
}

/**
 * Merges the panes of window [start, start + windowMs) into one row per status present, sorted
 * by status. Returns [] for a window without data.
 */
export function materialiseWindow(state: WindowState, start: number, cfg: WindowConfig): WindowRow[] {
  return rowsOfWindows(paneList(state), [start + cfg.windowMs], cfg);
}

/**
 * Rows of the windows ending at `ends` (ascending), in that order, each window's statuses sorted.
 * One forward sweep over the sorted panes; plain objects, and no sketch merge when a single pane
 * holds the status (the common case): this runs for every window that closes, several per event
 * on a sparse stream.
 */
function rowsOfWindows(list: PaneList, ends: readonly number[], cfg: WindowConfig): WindowRow[] {
  const rows: WindowRow[] = [];
  let lo = 0;
  for (const end of ends) {
    const start = end - cfg.windowMs;
    while (lo < list.length && (list[lo] as PaneList[number]).start < start) lo++;
    const acc: Record<string, { cnt: number; sumUnits: number; sketches: Hll[] }> = {};
    const statuses: string[] = [];
    for (let j = lo; j < list.length && (list[j] as PaneList[number]).start < end; j++) {
      const byStatus = (list[j] as PaneList[number]).byStatus;
      for (const status in byStatus) {
        const pane = byStatus[status] as PaneAgg;
        const a = acc[status];
        if (a === undefined) {
          acc[status] = { cnt: pane.cnt, sumUnits: pane.sumUnits, sketches: [pane.users] };
          statuses.push(status);
          continue;
        }
        a.cnt += pane.cnt;
        a.sumUnits += pane.sumUnits;
        a.sketches.push(pane.users);
      }
    }
    if (statuses.length > 1) statuses.sort();
    for (const status of statuses) {
      const a = acc[status] as { cnt: number; sumUnits: number; sketches: Hll[] };
      rows.push({
        window_start: start, window_end: end, status, cnt: a.cnt, sum_amount: unitsToAmount(a.sumUnits), n_users: hllUnionCount(a.sketches),
      });
    }
  }
  return rows;
}

/** Drops panes that no window still open after `closedThrough` contains. Returns how many. */
export function prunePanes(state: WindowState, cfg: WindowConfig): number {
  if (state.closedThrough === null) return 0;
  const earliestOpenStart = nextSlideAfter(state.closedThrough - cfg.windowMs, cfg);
  let dropped = 0;
  for (const key of Object.keys(state.panes)) {
    if (Number(key) + cfg.paneMs <= earliestOpenStart) {
      delete state.panes[key];
      dropped++;
    }
  }
  return dropped;
}

/**
 * Emits every window that became final at `watermark` (rows ordered by window_start, then
 * status), marks them closed and prunes panes. Idempotent: calling again with the same or an
 * older watermark emits nothing.
 */
export function closeWindows(state: WindowState, watermark: number, cfg: WindowConfig): WindowRow[] {
  if (!Number.isFinite(watermark)) throw new RangeError(`watermark must be finite, got ${watermark}`);
  if (state.closedThrough !== null && watermark <= state.closedThrough) return [];
  const closed = state.closedThrough;
  const list = paneList(state);
  const rows = rowsOfWindows(list, windowEnds(list, cfg, (e) => e <= watermark && (closed === null || e > closed)), cfg);
  state.closedThrough = watermark;
  prunePanes(state, cfg);
  return rows;
}

/** Early (not yet final) values: every open window holding data, ordered like closeWindows. */
export function liveWindowRows(state: WindowState, cfg: WindowConfig): WindowRow[] {
  const closed = state.closedThrough;
  const list = paneList(state);
  return rowsOfWindows(list, windowEnds(list, cfg, (e) => closed === null || e > closed), cfg);
}
