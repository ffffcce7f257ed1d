import type { RecentEntry, UserState } from '../../analytics/user-features.ts';
import { IntIndex, StringIndex } from '../../analytics/scratch-index.ts';
import type { StateCodec } from '../../runtime/actor.ts';

/**
 * The user actor's stored state ("v<version>:<payload>" in the state store).
 *
 * Version 2 (written): one JSON object, small integers wherever it can:
 *
 *   {"t": maxTs | null,
 *    "h": [the recent list's distinct merchant and device hashes, as signed 32-bit, first use first],
 *    "k": [its distinct country codes, first use first],
 *    "r": [per recent entry, in list order: maxTs − ts, amountUnits, merchant (index in h),
 *          device (index in h + 1; 0 = none), country (index in k + 1; 0 = none), failed 0|1],
 *    "d": [per remembered device, in key order: id, maxTs − firstTs, maxTs − lastTs],
 *    "c": [per remembered country, the same],
 *    "a": [count, mean, m2],  "x": dropped}
 *
 * Why: the state is encoded at every commit of a user, and JSON.stringify's cost follows the
 * bytes: in version 1 each entry spelt a 13-digit time and two 10-digit hashes (~50 bytes), in
 * version 2 ~15. Hashes go back to unsigned with `>>> 0`; times are exact (safe integers).
 * Version 1 is the in-memory {@link UserState} as plain JSON; stored states of it still decode.
 */
export const USER_STATE_VERSION = 2;

const ENTRY = 6;

type Seen = Record<string, [number, number]>;

interface StoredV2 {
  t: number | null;
  h: number[];
  k: string[];
  r: number[];
  d: (number | string)[];
  c: (number | string)[];
  a: [number, number, number];
  x: number;
}

/** Scratch dictionaries of encodeUserState (scratch-index.ts: reused, never reallocated per call). */
const hashes = new IntIndex();
const codes = new StringIndex();

/**
 * The number as a 32-bit integer when it is one: differences of stored times are computed in
 * doubles, and one double pushed to an array makes it a double array, which JSON.stringify
 * prints over twice as slowly as one of small integers (measured on 120 time differences).
 */
function int(x: number): number {
  const i = x | 0;
  return i === x ? i : x;
}

function encodeSeen(seen: Seen, base: number): (number | string)[] {
  const out: (number | string)[] = [];
  for (const key of Object.keys(seen)) {
    const [first, last] = seen[key] as [number, number];
    out.push(key, int(base - first), int(base - last));
  }
  return out;
}

function decodeSeen(flat: unknown, base: number): Seen {
  if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new RangeError('user state v2: bad seen list');
  const seen: Seen = {};
  for (let i = 0; i < flat.length; i += 3) {
    seen[String(flat[i])] = [base - (flat[i + 1] as number), base - (flat[i + 2] as number)];
  }
  return seen;
}

export function encodeUserState(state: UserState): string {
  const base = state.maxTs ?? 0;
  const recent = state.recent;
  hashes.reset(2 * recent.length);
  codes.reset();
  // Sized once: built by push, "r" grew through ~6 backing stores per call, ~6 KB of garbage per
  // event for a user with 40 entries (amounts of 2^30 units and more are not small integers,
  // which makes it a double array). The text is the same: every slot is filled.
  const r = new Array<number>(ENTRY * recent.length);
  const h: number[] = [];
  let at = 0;
  for (let i = 0; i < recent.length; i++) {
    const e = recent[i] as RecentEntry;
    // the dictionary in index order: a hash is pushed when it gets its index
    let known = hashes.size;
    const merchant = hashes.indexOf(e[2]);
    if (hashes.size !== known) h.push(e[2] | 0);
    let device = 0;
    if (e[3] !== -1) {
      known = hashes.size;
      device = hashes.indexOf(e[3]) + 1;
      if (hashes.size !== known) h.push(e[3] | 0);
    }
    r[at++] = int(base - e[0]);
    r[at++] = int(e[1]);
    r[at++] = merchant;
    r[at++] = device;
    r[at++] = e[4] === '' ? 0 : codes.indexOf(e[4]) + 1;
    r[at++] = e[5];
  }
  const stored: StoredV2 = {
    t: state.maxTs,
    h,
    k: codes.values,
    r,
    d: encodeSeen(state.devices, base),
    c: encodeSeen(state.countries, base),
    a: state.amounts,
    x: state.dropped,
  };
  return JSON.stringify(stored);
}

function decodeV2(raw: string): UserState {
  const s = JSON.parse(raw) as StoredV2;
  const { h, k, r } = s;
  if (!Array.isArray(r) || r.length % ENTRY !== 0 || !Array.isArray(h) || !Array.isArray(k) || !Array.isArray(s.a)) {
    throw new RangeError('user state v2: bad shape');
  }
  const base = s.t ?? 0;
  const recent: RecentEntry[] = [];
  for (let i = 0; i < r.length; i += ENTRY) {
    const merchant = h[r[i + 2] as number];
    const device = r[i + 3] as number;
    const country = r[i + 4] as number;
    const deviceHash = device === 0 ? -1 : h[device - 1];
    const code = country === 0 ? '' : k[country - 1];
    if (merchant === undefined || deviceHash === undefined || code === undefined) throw new RangeError('user state v2: bad index');
    recent.push([base - (r[i] as number), r[i + 1] as number, merchant >>> 0, device === 0 ? -1 : deviceHash >>> 0, code, r[i + 5] as 0 | 1]);
  }
  return { v: 1, maxTs: s.t, recent, devices: decodeSeen(s.d, base), countries: decodeSeen(s.c, base), amounts: s.a, dropped: s.x };
}

/** Writes version 2; reads versions 1 and 2. */
export const userStateCodec: StateCodec<UserState> = {
  version: USER_STATE_VERSION,
  encode: encodeUserState,
  decode: (raw, version) => {
    if (version === 2) return decodeV2(raw);
    if (version === 1) return JSON.parse(raw) as UserState;
    throw new Error(`user state version ${version} is not known to this code (${USER_STATE_VERSION})`);
  },
};
