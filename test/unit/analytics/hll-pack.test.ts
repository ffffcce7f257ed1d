import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter } from '../../../src/analytics/bits.ts';
import { HLL_M, type Hll, hllAdd, hllAddHash, hllCount, hllEmpty, hllRegisters } from '../../../src/analytics/hll.ts';
import { packHll, unpackHll } from '../../../src/analytics/hll-pack.ts';
import { createRng } from '../../../src/analytics/prng.ts';

const MAX_HASH = 2 ** 52 - 1;

function sketchOf(users: number, seed: string): Hll {
  let s = hllEmpty();
  for (let i = 0; i < users; i++) s = hllAdd(s, `${seed}-${i}`);
  return s;
}

/** The bits as a string of '0'/'1', written independently of BitWriter. */
function riceBits(x: number, k: number): string {
  const q = Math.floor(x / 2 ** k);
  return `${'1'.repeat(q)}0${k === 0 ? '' : (x % 2 ** k).toString(2).padStart(k, '0')}`;
}

describe('bits', () => {
  it('writes Rice codes and wide values bit for bit as a string oracle says, and reads them back', () => {
    const rng = createRng(5);
    const w = new BitWriter(8);
    let oracle = '';
    const written: [number, number, boolean][] = [];
    for (let i = 0; i < 2_000; i++) {
      const k = rng.int(53);
      const wide = rng.int(2) === 0;
      // values up to 2^53 − 1, and big quotients (q ≥ 24 takes the chunked unary path)
      const x = wide ? Math.floor(rng.next() * 2 ** k) : Math.floor(rng.next() * 2 ** Math.min(53, k + 6));
      if (wide) {
        w.writeWide(x, k);
        oracle += k === 0 ? '' : x.toString(2).padStart(k, '0');
      } else {
        w.rice(x, k);
        oracle += riceBits(x, k);
      }
      written.push([x, k, wide]);
    }
    const b64 = w.toBase64();
    const bytes = Buffer.from(b64, 'base64');
    const got = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
    expect(got.slice(0, oracle.length)).toBe(oracle);
    expect(got.length - oracle.length).toBeLessThan(8);
    const r = new BitReader(b64);
    for (const [x, k, wide] of written) expect(wide ? r.read(k) : r.rice(k)).toBe(x);
    expect(r.atEnd()).toBe(true);
  });
});

describe('packed HLL', () => {
  it('round-trips sparse sketches exactly, edge hashes included, in ≤ 8 chars per hash from 100 hashes', () => {
    for (const n of [0, 1, 2, 3, 100, 500, 1_024]) {
      const s = sketchOf(n, `p${n}`);
      const packed = packHll(s);
      expect(unpackHll(packed)).toEqual(s);
      if (n >= 100) expect(packed.length / n).toBeLessThan(8);
      expect(packed.length).toBeLessThan(JSON.stringify(s).length + 1);
    }
    let edges = hllEmpty();
    for (const h of [0, 1, 2, 2 ** 32 - 1, 2 ** 32, MAX_HASH - 1, MAX_HASH]) edges = hllAddHash(edges, h);
    expect(unpackHll(packHll(edges))).toEqual(edges);
    expect(unpackHll(packHll({ k: 's', h: [MAX_HASH] }))).toEqual({ k: 's', h: [MAX_HASH] });
  });

  it('round-trips dense sketches: "z" when few registers are set, "d" when it would not be shorter', () => {
    for (const [n, form] of [[1_100, 'z'], [3_000, 'z'], [60_000, 'd']] as const) {
      const s = sketchOf(n, `d${n}`);
      expect(s.k).toBe('d');
      const packed = packHll(s);
      expect(packed[0]).toBe(form);
      const back = unpackHll(packed);
      expect(back).toEqual(s);
      expect(hllRegisters(back)).toEqual(hllRegisters(s));
      expect(hllCount(back)).toBe(hllCount(s));
      expect(packed.length).toBeLessThanOrEqual(HLL_M + 1);
    }
    expect(packHll(sketchOf(1_100, 'd1100')).length).toBeLessThan(3_000);
  });

  it('refuses corrupt text', () => {
    const good = packHll(sketchOf(50, 'c'));
    for (const bad of ['', 'x', 's3.1.', `${good}AAAA`, good.slice(0, -4), good.replace(/^s50/, 's51'), 'dAAA', `z1.13.${Buffer.from([0, 0, 0]).toString('base64')}`]) {
      expect(() => unpackHll(bad), bad.slice(0, 20)).toThrow(RangeError);
    }
  });
});
