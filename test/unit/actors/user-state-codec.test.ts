import { describe, expect, it } from 'vitest';
import { encodeUserState, userStateCodec } from '../../../src/actors/user/user-state-codec.ts';
import { createRng } from '../../../src/analytics/prng.ts';
import { emptyUserState, observeUserEvent, resolveUserFeatureConfig, type UserState } from '../../../src/analytics/user-features.ts';

/** States as the actor builds them: random streams, some without device or country, hashes over the whole 32-bit range. */
function states(seed: number, count: number, merchants = 1_000_000): UserState[] {
  const rng = createRng(seed);
  const cfg = resolveUserFeatureConfig({ maxRecentEvents: 64, maxSeenDevices: 5, maxSeenCountries: 3 });
  const out: UserState[] = [];
  for (let s = 0; s < count; s++) {
    const state = emptyUserState();
    let clock = 1_767_225_600_000 + rng.int(1_000_000_000);
    for (let i = 0, n = rng.int(120); i < n; i++) {
      clock += rng.int(3_600_000);
      observeUserEvent(state, {
        ts_ms: clock - rng.int(1_800_000),
        amount: rng.int(10_000_000) / 100,
        merchant_id: `m${rng.int(merchants)}`,
        status: rng.chance(0.3) ? 'failed' : 'captured',
        ...(rng.chance(0.8) ? { device_id: `d${rng.int(40)}` } : {}),
        ...(rng.chance(0.8) ? { country: ['FR', 'US', 'VN', 'BR', 'DE', '12'][rng.int(6)] } : {}),
      }, cfg);
    }
    out.push(state);
  }
  return out;
}

describe('user state codec', () => {
  it('version 2 decodes to exactly the state (the version 1 JSON of both is the same)', () => {
    let entries = 0;
    let noDevice = 0;
    let highHash = 0;
    for (const state of states(3, 200)) {
      const decoded = userStateCodec.decode(userStateCodec.encode(state), 2);
      expect(decoded).toEqual(state);
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(state));
      for (const e of state.recent) {
        entries += 1;
        if (e[3] === -1) noDevice += 1;
        if (e[2] >= 2 ** 31) highHash += 1;
      }
    }
    expect(entries).toBeGreaterThan(5_000);
    expect(noDevice).toBeGreaterThan(100);
    expect(highHash).toBeGreaterThan(100);
  });

  it('keeps a device hash of 0xffffffff apart from "no device", and the empty state', () => {
    const state: UserState = {
      v: 1,
      maxTs: 1_000,
      recent: [[900, 5, 0xffffffff, 0xffffffff, '', 1], [1_000, 7, 0, -1, 'FR', 0]],
      devices: { '7': [900, 900], x: [10, 950] },
      countries: { FR: [1_000, 1_000] },
      amounts: [2, 6, 2],
      dropped: 3,
    };
    expect(userStateCodec.decode(encodeUserState(state), 2)).toEqual(state);
    expect(Object.keys(userStateCodec.decode(encodeUserState(state), 2).devices)).toEqual(['7', 'x']);
    expect(userStateCodec.decode(encodeUserState(emptyUserState()), 2)).toEqual(emptyUserState());
  });

  it('writes the version 2 text of a plain rendering, whatever was encoded before (reused scratch arrays)', () => {
    // the spec of version 2 restated with fresh arrays and Maps (the encoder reuses its arrays)
    const plain = (st: UserState): string => {
      const base = st.maxTs ?? 0;
      const ids = new Map<number, number>();
      const ks = new Map<string, number>();
      const idOf = (hash: number) => ids.get(hash) ?? (ids.set(hash, ids.size), ids.size - 1);
      const r: number[] = [];
      for (const [ts, units, m, d, country, failed] of st.recent) {
        const merchant = idOf(m);
        const device = d === -1 ? 0 : idOf(d) + 1;
        const code = country === '' ? 0 : (ks.get(country) ?? (ks.set(country, ks.size), ks.size - 1)) + 1;
        r.push(base - ts, units, merchant, device, code, failed);
      }
      const seen = (x: Record<string, [number, number]>) => Object.entries(x).flatMap(([key, [a, b]]) => [key, base - a, base - b]);
      const h = [...ids.keys()].map((hash) => hash | 0);
      return JSON.stringify({ t: st.maxTs, h, k: [...ks.keys()], r, d: seen(st.devices), c: seen(st.countries), a: st.amounts, x: st.dropped });
    };
    // long and short states, empty ones, small amounts only, then large ones: a shorter encode
    // after a longer one, and small-integer states after double-valued ones
    const all = [...states(11, 60), emptyUserState(), ...states(12, 30, 5), emptyUserState(), ...states(13, 60)];
    for (const state of all.filter((_, i) => i % 3 === 0)) for (const e of state.recent) e[1] = e[1] % 1000;
    for (const state of all) expect(encodeUserState(state)).toBe(plain(state));
  });

  it('still decodes version 1 states (plain JSON), and refuses unknown versions', () => {
    const v1 =
      '{"v":1,"maxTs":1767225660000,"recent":[[1767225600000,1050,3141592653,-1,"FR",0],[1767225660000,20,17,2718281828,"",1]],' +
      '"devices":{"d1":[1767225660000,1767225660000]},"countries":{"FR":[1767225600000,1767225600000]},"amounts":[2,10.35,190.1],"dropped":0}';
    const state = userStateCodec.decode(v1, 1);
    expect(state).toEqual(JSON.parse(v1));
    expect(userStateCodec.decode(userStateCodec.encode(state), 2)).toEqual(state);
    expect(() => userStateCodec.decode(v1, 3)).toThrow(/version 3/);
    expect(() => userStateCodec.decode('{"t":1,"h":[],"k":[],"r":[1,2,3],"d":[],"c":[],"a":[0,0,0],"x":0}', 2)).toThrow(/bad shape/);
    expect(() => userStateCodec.decode('{"t":1,"h":[5],"k":[],"r":[0,1,0,0,1,0],"d":[],"c":[],"a":[0,0,0],"x":0}', 2)).toThrow(/bad index/);
  });

  it('is smaller than version 1 (users paying at a few dozen merchants)', () => {
    const all = states(5, 50, 30).filter((s) => s.recent.length > 20);
    for (const state of all) expect(userStateCodec.decode(encodeUserState(state), 2)).toEqual(state);
    const v1 = all.reduce((n, s) => n + JSON.stringify(s).length, 0);
    const v2 = all.reduce((n, s) => n + encodeUserState(s).length, 0);
    expect(v2).toBeLessThan(0.8 * v1);
  });
});
