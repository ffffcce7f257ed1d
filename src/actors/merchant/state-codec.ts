import type { PaneAgg, WindowState } from '../../analytics/windows.ts';
import { jsonCodec, type StateCodec } from '../../runtime/actor.ts';

/**
 * The merchant state codec: the JSON of `jsonCodec` (version 1, the same text byte for byte, so
 * stored states and this code read each other), written without re-serialising unchanged panes.
 *
 * Why: a merchant keeps every pane of the last windowMs + allowed lateness (25 min by default),
 * each with a distinct-user sketch of up to ~17 KB, and its whole state is encoded on every
 * batch that touches it. Sustained at 2,000 events/s over 125 merchants, the biggest state grows
 * to ~420 KB and JSON.stringify to ~60 µs per event, while only the current pane changes. Each
 * pane start's JSON is kept (weakly, by the state's panes object) with the values it was made
 * from, and reused while they are unchanged: panes are only changed by `addEvent`, which always
 * increments `cnt`; the check also compares the sum and the sketch, so other changes are seen too.
 */
export function merchantStateCodec<S extends { readonly windows: WindowState }>(): StateCodec<S> {
  const json = jsonCodec<S>(1);
  return { version: json.version, decode: json.decode, encode: encodeState };
}

/** One pane start's JSON (`"<start>":{...}`) and what it was made from. */
interface CachedPane {
  readonly byStatus: Readonly<Record<string, PaneAgg>>;
  /** Per status, in for-in order: the pane object and its count, sum, sketch and sketch shape. */
  readonly parts: readonly (PaneAgg | number | PaneAgg['users'] | string)[];
  readonly json: string;
}

/** Per state's panes object (weak: it lives as long as the state), by pane start. */
const paneCache = new WeakMap<WindowState['panes'], Map<string, CachedPane>>();
const PART_FIELDS = 5;

/** Stands in for the panes while the rest of the state is serialised; JSON escapes \u0001. */
const PANES_MARK = '\u0001panes';
const QUOTED_MARK = JSON.stringify(PANES_MARK);

function encodeState(state: { readonly windows: WindowState }): string {
  const rest = JSON.stringify({ ...state, windows: { ...state.windows, panes: PANES_MARK } });
  const at = rest.indexOf(QUOTED_MARK);
  return rest.slice(0, at) + panesJson(state.windows.panes) + rest.slice(at + QUOTED_MARK.length);
}

/** JSON.stringify(panes), from the cached JSON of every unchanged pane start (same key order: for-in). */
function panesJson(panes: WindowState['panes']): string {
  let cache = paneCache.get(panes);
  if (cache === undefined) {
    cache = new Map();
    paneCache.set(panes, cache);
  }
  let out = '{';
  let n = 0;
  for (const start in panes) {
    const byStatus = panes[start] as Record<string, PaneAgg>;
    let cached = cache.get(start);
    if (cached === undefined || !unchanged(cached, byStatus)) {
      cached = paneStartJson(start, byStatus);
      cache.set(start, cached);
    }
    out += n === 0 ? cached.json : `,${cached.json}`;
    n += 1;
  }
  if (cache.size > n) for (const start of cache.keys()) if (!(start in panes)) cache.delete(start); // pruned panes
  return `${out}}`;
}

function sketchShape(pane: PaneAgg): number | string {
  return pane.users.k === 's' ? pane.users.h.length : pane.users.r;
}

function unchanged(cached: CachedPane, byStatus: Readonly<Record<string, PaneAgg>>): boolean {
  if (cached.byStatus !== byStatus) return false;
  const parts = cached.parts;
  let i = 0;
  for (const status in byStatus) {
    const pane = byStatus[status] as PaneAgg;
    if (
      i >= parts.length || parts[i] !== pane || parts[i + 1] !== pane.cnt || parts[i + 2] !== pane.sumUnits ||
      parts[i + 3] !== pane.users || parts[i + 4] !== sketchShape(pane)
    ) {
      return false;
    }
    i += PART_FIELDS;
  }
  return i === parts.length;
}

function paneStartJson(start: string, byStatus: Readonly<Record<string, PaneAgg>>): CachedPane {
  const parts: (PaneAgg | number | PaneAgg['users'] | string)[] = [];
  for (const status in byStatus) {
    const pane = byStatus[status] as PaneAgg;
    parts.push(pane, pane.cnt, pane.sumUnits, pane.users, sketchShape(pane));
  }
  return { byStatus, parts, json: `${JSON.stringify(start)}:${JSON.stringify(byStatus)}` };
}
