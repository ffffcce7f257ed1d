import { packHll, unpackHll } from '../../analytics/hll-pack.ts';
import type { PaneAgg, WindowState } from '../../analytics/windows.ts';
import type { StateCodec } from '../../runtime/actor.ts';

/**
 * The merchant state codec. Version 2 (written) is the JSON of the state, except that each pane
 * of each status is `[cnt, sumUnits, "<packed sketch>"]` (analytics/hll-pack.ts) instead of
 * `{"cnt":…,"sumUnits":…,"users":{"k":"s","h":[…]}}`. Version 1 (plain JSON.stringify of the
 * state, as jsonCodec wrote it) still decodes, so states stored before it keep working.
 *
 * Why: a merchant keeps every pane of the last windowMs + allowed lateness (25 min by default),
 * each with a distinct-user sketch, and its whole state is written on every batch that touches
 * it. Version 1 spelt each sparse hash as a ~17-digit decimal and a dense sketch as 16,384 chars
 * even when ~94% of its registers are empty; see hll-pack.ts for what version 2 writes instead.
 *
 * Only the current pane changes in most batches, so each pane start's text is kept (weakly, by
 * the state's panes object) with the values it was made from, and reused while they are
 * unchanged: panes are only changed by `addEvent`, which always increments `cnt`; the check also
 * compares the sum and the sketch (object and size), so other changes are seen too. A changed
 * pane start re-packs only the sketches that changed.
 *
 * The runtime stores the state in parts (runtime/state-parts.ts): one per pane start, its text
 * the pane start's value, and a head (the rest, the panes' place marked), so a batch writes the
 * head and the pane starts it changed instead of the ~25 the state holds.
 */
export const MERCHANT_STATE_VERSION = 2;

export function merchantStateCodec<S extends { readonly windows: WindowState }>(): StateCodec<S> {
  return {
    version: MERCHANT_STATE_VERSION,
    decode: (raw, version) => decodeState<S>(raw, version),
    encode: encodeState,
    encodeParts,
    decodeParts: (head, parts, version) => decodeState<S>(assemble(head, parts), version),
  };
}

/** A sketch's packed text and what it was made from. */
interface PackedSketch {
  readonly users: PaneAgg['users'];
  readonly shape: number | string;
  readonly text: string;
}

/** One pane start's text (`"<start>":{...}`, its value alone in `body`) and what it was made from. */
interface CachedPane {
  readonly byStatus: Readonly<Record<string, PaneAgg>>;
  /** Per status, in for-in order: the pane object and its count, sum, sketch and sketch shape. */
  readonly parts: readonly (PaneAgg | number | PaneAgg['users'] | string)[];
  readonly sketches: ReadonlyMap<string, PackedSketch>;
  readonly body: string;
  readonly json: string;
}

/** Per state's panes object (weak: it lives as long as the state), by pane start. */
const paneCache = new WeakMap<WindowState['panes'], Map<string, CachedPane & { readonly start: string }>>();
const PART_FIELDS = 5;

/** Stands in for the panes while the rest of the state is serialised; JSON escapes \u0001. */
const PANES_MARK = '\u0001panes';
const QUOTED_MARK = JSON.stringify(PANES_MARK);

/** The state's text with the panes' place marked (the head of its parts). */
function headOf(state: { readonly windows: WindowState }): string {
  return JSON.stringify({ ...state, windows: { ...state.windows, panes: PANES_MARK } });
}

/** The head with the panes' JSON object (`{...}` text) in the marked place. */
function withPanes(head: string, panes: string): string {
  const at = head.indexOf(QUOTED_MARK);
  if (at < 0) throw new RangeError('merchant state head: no panes mark');
  return `${head.slice(0, at)}${panes}${head.slice(at + QUOTED_MARK.length)}`;
}

function encodeState(state: { readonly windows: WindowState }): string {
  let panes = '{';
  for (const pane of currentPanes(state.windows.panes)) panes += panes === '{' ? pane.json : `,${pane.json}`;
  return withPanes(headOf(state), `${panes}}`);
}

/**
 * Parts (runtime/state-parts.ts): one per pane start, named by it, its text the pane start's
 * value; the head is the rest of the state. An unchanged pane start yields the same string.
 */
function encodeParts(state: { readonly windows: WindowState }): { head: string; parts: Map<string, string> } {
  const parts = new Map<string, string>();
  for (const pane of currentPanes(state.windows.panes)) parts.set(pane.start, pane.body);
  return { head: headOf(state), parts };
}

/** The version 2 text of a state stored in parts. */
function assemble(head: string, parts: ReadonlyMap<string, string>): string {
  let panes = '{';
  for (const [start, body] of parts) panes += `${panes === '{' ? '' : ','}${JSON.stringify(start)}:${body}`;
  return withPanes(head, `${panes}}`);
}

/** Every pane start's cached text, re-made for changed ones (for-in order). */
function currentPanes(panes: WindowState['panes']): (CachedPane & { readonly start: string })[] {
  let cache = paneCache.get(panes);
  if (cache === undefined) {
    cache = new Map();
    paneCache.set(panes, cache);
  }
  const out: (CachedPane & { readonly start: string })[] = [];
  for (const start in panes) {
    const byStatus = panes[start] as Record<string, PaneAgg>;
    let cached = cache.get(start);
    if (cached === undefined || !unchanged(cached, byStatus)) {
      cached = paneStartJson(start, byStatus, cached?.sketches);
      cache.set(start, cached);
    }
    out.push(cached);
  }
  if (cache.size > out.length) for (const start of cache.keys()) if (!(start in panes)) cache.delete(start); // pruned panes
  return out;
}

/** What changes whenever a sketch does: sketches only grow (sparse) or raise registers (dense). */
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

function paneStartJson(start: string, byStatus: Readonly<Record<string, PaneAgg>>, before: ReadonlyMap<string, PackedSketch> | undefined): CachedPane & { readonly start: string } {
  const parts: (PaneAgg | number | PaneAgg['users'] | string)[] = [];
  const sketches = new Map<string, PackedSketch>();
  let body = '{';
  for (const status in byStatus) {
    const pane = byStatus[status] as PaneAgg;
    const shape = sketchShape(pane);
    parts.push(pane, pane.cnt, pane.sumUnits, pane.users, shape);
    let sketch = before?.get(status);
    if (sketch === undefined || sketch.users !== pane.users || sketch.shape !== shape) sketch = { users: pane.users, shape, text: packHll(pane.users) };
    sketches.set(status, sketch);
    // cnt and sumUnits are safe integers (validated by addEvent); the packed text needs no escaping
    body += `${sketches.size === 1 ? '' : ','}${JSON.stringify(status)}:[${pane.cnt},${pane.sumUnits},"${sketch.text}"]`;
  }
  body += '}';
  return { start, byStatus, parts, sketches, body, json: `${JSON.stringify(start)}:${body}` };
}

function decodeState<S>(raw: string, version: number): S {
  if (version === 1) return JSON.parse(raw) as S;
  if (version !== MERCHANT_STATE_VERSION) throw new Error(`merchant state version ${version} is not known to this code (${MERCHANT_STATE_VERSION})`);
  const state = JSON.parse(raw) as { windows?: { panes?: unknown } };
  const panes = state.windows?.panes;
  if (typeof panes !== 'object' || panes === null) throw new RangeError('merchant state v2: no panes');
  for (const byStatus of Object.values(panes as Record<string, Record<string, unknown>>)) {
    for (const status in byStatus) byStatus[status] = decodePane(byStatus[status]);
  }
  return state as S;
}

function decodePane(stored: unknown): PaneAgg {
  if (!Array.isArray(stored) || stored.length !== 3) throw new RangeError('merchant state v2: bad pane');
  const [cnt, sumUnits, users] = stored as unknown[];
  if (typeof cnt !== 'number' || typeof sumUnits !== 'number' || typeof users !== 'string') throw new RangeError('merchant state v2: bad pane');
  return { cnt, sumUnits, users: unpackHll(users) };
}
