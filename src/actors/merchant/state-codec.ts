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
 * pane's JSON is kept (weakly, by the pane object) with the values it was made from, and reused
 * while they are unchanged: panes are only changed by `addEvent`, which always increments `cnt`;
 * the check also compares the sum and the sketch, so any other change is seen too.
 */
export function merchantStateCodec<S extends { readonly windows: WindowState }>(): StateCodec<S> {
  const json = jsonCodec<S>(1);
  return { version: json.version, decode: json.decode, encode: encodeState };
}

interface CachedPane {
  readonly cnt: number;
  readonly sumUnits: number;
  readonly users: PaneAgg['users'];
  /** The sparse hash count or the dense register string when the JSON was made. */
  readonly usersShape: number | string;
  readonly json: string;
}

const paneCache = new WeakMap<PaneAgg, CachedPane>();

/** Stands in for the panes while the rest of the state is serialised; JSON escapes \u0001. */
const PANES_MARK = '\u0001panes';
const QUOTED_MARK = JSON.stringify(PANES_MARK);

function encodeState(state: { readonly windows: WindowState }): string {
  const rest = JSON.stringify({ ...state, windows: { ...state.windows, panes: PANES_MARK } });
  const at = rest.indexOf(QUOTED_MARK);
  return rest.slice(0, at) + panesJson(state.windows.panes) + rest.slice(at + QUOTED_MARK.length);
}

/** JSON.stringify(panes), from the cached JSON of every unchanged pane (same key order: for-in). */
function panesJson(panes: WindowState['panes']): string {
  let out = '{';
  let firstPane = true;
  for (const start in panes) {
    const byStatus = panes[start] as Record<string, PaneAgg>;
    out += `${firstPane ? '' : ','}${JSON.stringify(start)}:{`;
    firstPane = false;
    let firstStatus = true;
    for (const status in byStatus) {
      out += `${firstStatus ? '' : ','}${JSON.stringify(status)}:${paneJson(byStatus[status] as PaneAgg)}`;
      firstStatus = false;
    }
    out += '}';
  }
  return `${out}}`;
}

function paneJson(pane: PaneAgg): string {
  const usersShape = pane.users.k === 's' ? pane.users.h.length : pane.users.r;
  const cached = paneCache.get(pane);
  if (
    cached !== undefined && cached.cnt === pane.cnt && cached.sumUnits === pane.sumUnits && cached.users === pane.users &&
    cached.usersShape === usersShape
  ) {
    return cached.json;
  }
  const json = JSON.stringify(pane);
  paneCache.set(pane, { cnt: pane.cnt, sumUnits: pane.sumUnits, users: pane.users, usersShape, json });
  return json;
}
