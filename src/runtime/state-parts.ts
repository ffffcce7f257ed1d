import type { StateCodec } from './actor.ts';
import { ErrorCodes, RiskstreamError } from './errors.ts';
import type { StateWrite } from './store.ts';

/**
 * States stored in parts, for actors whose codec has `encodeParts` (the merchant: one part per
 * pane start, of which a batch usually changes one, while the state holds ~25).
 *
 * Storage: fields of the state store's per-partition state map, all written by the same atomic
 * commit as everything else (so the store needs no notion of parts):
 *
 *   <stateId>                "v<version>;<name>,<name>,…:<head>"   the head, listing its parts
 *   <stateId>\u0001<name>    the part's text
 *
 * A state stored whole ("v<version>:<payload>", as every state of an actor without parts, or
 * one written before its actor had parts) is read as before and has no part fields.
 *
 * Invariant: a stored state's part fields are exactly those its head lists. A commit writes the
 * head, the parts whose text differs from the baseline and deletions of the baseline's parts the
 * head no longer lists. The baseline of a state id is the parts as stored, known to the
 * partition task either because it loaded them or because its own commit of them succeeded; it
 * is kept per id by the task, which is discarded on any failure (so it never holds a baseline
 * from a commit whose outcome is unknown), and one task is the partition's only writer. A state
 * without a baseline is loaded from the store rather than taken from the cache (partition-task),
 * so it gets one; without one anyway (a caller that keeps none) it is written whole, leaving any
 * parts stored before unlisted (never read again).
 *
 * Costs: a load of a parted state takes a second store call for its parts; the task keeps the
 * texts of every parted state it touched (mostly the same strings the codec caches for states
 * in the actor cache). Code from before parts cannot read a head: roll forward, not back.
 */

/** Per state id: the parts as stored (name → text), in the head's order. */
export type Baselines = Map<string, ReadonlyMap<string, string>>;

/** What decoding needs of an actor type. */
interface Decoder {
  readonly name: string;
  readonly codec: StateCodec<unknown>;
}

const NO_PARTS: ReadonlyMap<string, string> = new Map();

export function partId(id: string, name: string): string {
  return `${id}\u0001${name}`;
}

export function isParted(codec: StateCodec<unknown>): boolean {
  return codec.encodeParts !== undefined && codec.decodeParts !== undefined;
}

/**
 * Appends the writes of one state (undefined: deleted) of an actor with a parted codec, and
 * returns the baseline it leaves once committed.
 */
export function partedWrites(codec: StateCodec<unknown>, id: string, state: unknown, baseline: ReadonlyMap<string, string> | undefined, writes: StateWrite[]): ReadonlyMap<string, string> {
  if (state === undefined) {
    writes.push({ id, value: null });
    for (const name of (baseline ?? NO_PARTS).keys()) writes.push({ id: partId(id, name), value: null });
    return NO_PARTS;
  }
  if (baseline === undefined) {
    writes.push({ id, value: `v${codec.version}:${codec.encode(state)}` });
    return NO_PARTS;
  }
  const { head, parts } = (codec.encodeParts as NonNullable<StateCodec<unknown>['encodeParts']>)(state);
  let names = '';
  let kept = 0;
  for (const [name, text] of parts) {
    names = names === '' ? name : `${names},${name}`;
    const before = baseline.get(name);
    if (before === undefined) checkName(name, id);
    else kept += 1;
    if (before !== text) writes.push({ id: partId(id, name), value: text });
  }
  // every baseline part still listed unless some were dropped
  if (kept < baseline.size) for (const name of baseline.keys()) if (!parts.has(name)) writes.push({ id: partId(id, name), value: null });
  writes.push({ id, value: `v${codec.version};${names}:${head}` });
  return parts;
}

/** Part names end at ',' and ':' in the head and follow U+0001 in field names; '' would vanish in the list. */
function checkName(name: string, id: string): void {
  if (name === '' || name.includes(',') || name.includes(':') || name.includes('\u0001')) {
    throw new Error(`state part name ${JSON.stringify(name)} of ${id} is not allowed`);
  }
}

/** A stored head of a parted state, or undefined for a state stored whole. */
export function parseHead(raw: string): { version: number; names: string[]; head: string } | undefined {
  const colon = raw.indexOf(':');
  const semi = raw.indexOf(';');
  if (raw[0] !== 'v' || semi < 0 || (colon >= 0 && colon < semi)) return undefined;
  const list = raw.slice(semi + 1, colon);
  return { version: Number(raw.slice(1, semi)), names: list === '' ? [] : list.split(','), head: raw.slice(colon + 1) };
}

/** Decodes a state stored whole (`v<version>:<payload>`). */
export function decodeWhole(actor: Decoder, raw: string, id: string): unknown {
  const colon = raw.indexOf(':');
  const version = Number(raw.slice(1, colon));
  if (raw[0] !== 'v' || colon < 2 || !Number.isInteger(version)) {
    throw new RiskstreamError(ErrorCodes.stateCodec, `stored state of ${id} has no version prefix`, { context: { actorType: actor.name } });
  }
  return decodeWith(actor, () => actor.codec.decode(raw.slice(colon + 1), version));
}

/** Decodes a parted state from its parsed head and its parts' stored texts (null: missing). */
export function decodeParted(actor: Decoder, head: NonNullable<ReturnType<typeof parseHead>>, texts: readonly (string | null | undefined)[], id: string): { state: unknown; parts: ReadonlyMap<string, string> } {
  const parts = new Map<string, string>();
  head.names.forEach((name, i) => {
    const text = texts[i];
    if (text == null) throw new RiskstreamError(ErrorCodes.stateCodec, `stored state of ${id} lacks its part ${name}`, { context: { actorType: actor.name } });
    parts.set(name, text);
  });
  if (!Number.isInteger(head.version)) throw new RiskstreamError(ErrorCodes.stateCodec, `stored state of ${id} has no version prefix`, { context: { actorType: actor.name } });
  const decodeParts = actor.codec.decodeParts;
  if (decodeParts === undefined) throw new RiskstreamError(ErrorCodes.stateCodec, `stored state of ${id} has parts; its codec reads none`, { context: { actorType: actor.name } });
  return { state: decodeWith(actor, () => decodeParts(head.head, parts, head.version)), parts };
}

function decodeWith(actor: Decoder, fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    throw new RiskstreamError(ErrorCodes.stateCodec, `cannot decode state of ${actor.name}: ${(err as Error).message}`, { cause: err, context: { actorType: actor.name } });
  }
}

/**
 * The states for `ids` from what the store returned for them (null: none stored, the actor's
 * initial state); the parts of parted heads are fetched with one more `loadParts` call. Sets the
 * baseline of every state of a parted actor: what is stored now.
 */
export async function decodeLoaded(
  ids: readonly string[],
  actors: readonly (Decoder & { initialState(key: string): unknown })[],
  values: readonly (string | null)[],
  loadParts: (ids: readonly string[]) => Promise<readonly (string | null)[]>,
  baselines: Baselines,
): Promise<unknown[]> {
  const heads = ids.map((_, i) => (values[i] == null || !isParted(actors[i]!.codec) ? undefined : parseHead(values[i] as string)));
  const partIds = heads.flatMap((head, i) => (head === undefined ? [] : head.names.map((name) => partId(ids[i]!, name))));
  const texts = partIds.length === 0 ? [] : await loadParts(partIds);
  let at = 0;
  return ids.map((id, i) => {
    const actor = actors[i]!;
    const raw = values[i];
    const head = heads[i];
    if (head !== undefined) {
      const { state, parts } = decodeParted(actor, head, texts.slice(at, at + head.names.length), id);
      at += head.names.length;
      baselines.set(id, parts);
      return state;
    }
    if (isParted(actor.codec)) baselines.set(id, NO_PARTS);
    return raw == null ? actor.initialState(id.slice(id.indexOf('\u0000') + 1)) : decodeWhole(actor, raw, id);
  });
}
