import { describe, expect, it } from 'vitest';
import { hash52, murmur3 } from '../../../src/analytics/hash.ts';
import {
  HLL_M,
  HLL_SPARSE_MAX,
  type Hll,
  hllAdd,
  hllAddHash,
  hllClone,
  hllCount,
  hllEmpty,
  hllMerge,
  hllRegisters,
} from '../../../src/analytics/hll.ts';
import { createRng } from '../../../src/analytics/prng.ts';

/** Reference MurmurHash3_x86_32 over bytes, written independently from the streaming version. */
function murmurBytes(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const nblocks = bytes.length >> 2;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let i = 0; i < nblocks; i++) {
    let k =
      (bytes[4 * i] as number) |
      ((bytes[4 * i + 1] as number) << 8) |
      ((bytes[4 * i + 2] as number) << 16) |
      ((bytes[4 * i + 3] as number) << 24);
    k = Math.imul(rotl(Math.imul(k, c1), 15), c2);
    h = rotl((h ^ k) >>> 0, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  let k = 0;
  const tail = nblocks * 4;
  const rem = bytes.length & 3;
  if (rem === 3) k ^= (bytes[tail + 2] as number) << 16;
  if (rem >= 2) k ^= (bytes[tail + 1] as number) << 8;
  if (rem >= 1) {
    k ^= bytes[tail] as number;
    k = Math.imul(rotl(Math.imul(k, c1), 15), c2);
    h = (h ^ k) >>> 0;
  }
  h = (h ^ bytes.length) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function values(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

describe('murmur3', () => {
  it('matches published reference values', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('', 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3('test', 0)).toBe(0xba6bd213);
    expect(murmur3('Hello, world!', 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('hashes the UTF-8 bytes, like a byte-oriented implementation', () => {
    const rng = createRng(7);
    const alphabet = ['a', 'Z', '0', '_', 'é', 'ß', '€', '日', '😀', '\u{10348}'];
    const enc = new TextEncoder();
    for (let t = 0; t < 500; t++) {
      let s = '';
      const len = rng.int(12);
      for (let i = 0; i < len; i++) s += rng.pick(alphabet);
      const seed = rng.int(2 ** 32);
      expect(murmur3(s, seed)).toBe(murmurBytes(enc.encode(s), seed));
    }
  });

  it('hashes ASCII strings (the fast path) and ASCII with one non-ASCII char like the byte-oriented implementation', () => {
    const rng = createRng(9);
    const enc = new TextEncoder();
    for (let t = 0; t < 2_000; t++) {
      let s = '';
      const len = rng.int(41);
      for (let i = 0; i < len; i++) s += String.fromCharCode(rng.int(128));
      if (t % 4 === 0 && len > 0) {
        const at = rng.int(len);
        s = s.slice(0, at) + rng.pick(['é', '€', '😀', '\u0080']) + s.slice(at + 1);
      }
      const seed = rng.int(2 ** 32);
      expect(murmur3(s, seed), JSON.stringify(s)).toBe(murmurBytes(enc.encode(s), seed));
    }
  });

  it('hash52 is an exact integer below 2^52 and spreads well', () => {
    const seen = new Set<number>();
    for (const v of values(20_000, 'u')) {
      const h = hash52(v);
      expect(Number.isSafeInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 52);
      seen.add(h);
    }
    expect(seen.size).toBe(20_000);
  });
});

describe('HyperLogLog', () => {
  it('is exact while sparse, ignores duplicates, turns dense past the threshold', () => {
    let s = hllEmpty();
    for (const v of values(HLL_SPARSE_MAX, 'x')) {
      s = hllAdd(s, v);
      s = hllAdd(s, v);
    }
    expect(s.k).toBe('s');
    expect(hllCount(s)).toBe(HLL_SPARSE_MAX);
    s = hllAdd(s, 'one-more');
    expect(s.k).toBe('d');
    expect(s.k === 'd' && s.r.length).toBe(HLL_M);
    expect(Math.abs(hllCount(s) - (HLL_SPARSE_MAX + 1)) / (HLL_SPARSE_MAX + 1)).toBeLessThan(0.02);
  });

  it('empty sketch counts zero', () => {
    expect(hllCount(hllEmpty())).toBe(0);
    expect(hllCount(hllMerge(hllEmpty(), { k: 'd', r: 'A'.repeat(HLL_M) }))).toBe(0);
  });

  for (const n of [1_000, 10_000, 100_000]) {
    it(`error ≤ 2% at ${n} distinct, split over 5 overlapping panes and merged`, () => {
      const errors: number[] = [];
      for (let trial = 0; trial < 4; trial++) {
        const rng = createRng(1000 * n + trial);
        const panes: Hll[] = [hllEmpty(), hllEmpty(), hllEmpty(), hllEmpty(), hllEmpty()];
        for (const v of values(n, `t${trial}`)) {
          // each value lands in 1–3 panes, some twice: a union must not double count
          const copies = 1 + rng.int(3);
          for (let c = 0; c < copies; c++) {
            const p = rng.int(5);
            panes[p] = hllAdd(panes[p] as Hll, v);
          }
        }
        const merged = hllMerge(...panes);
        errors.push((hllCount(merged) - n) / n);
      }
      for (const e of errors) expect(Math.abs(e)).toBeLessThanOrEqual(0.02);
      const rms = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
      expect(rms).toBeLessThan(0.015);
    });
  }

  it('merge is commutative, associative, idempotent and representation-independent', () => {
    const rng = createRng(42);
    const sketches: Hll[] = [];
    const direct = new Uint8Array(HLL_M);
    const all = hllEmpty();
    let allS: Hll = all;
    for (let k = 0; k < 6; k++) {
      let s = hllEmpty();
      const n = [10, 500, 900, 2000, 3, 5000][k] as number;
      for (let i = 0; i < n; i++) {
        const v = `v${rng.int(8000)}`;
        s = hllAdd(s, v);
        allS = hllAdd(allS, v);
      }
      sketches.push(s);
    }
    for (const s of sketches) {
      const r = hllRegisters(s);
      for (let i = 0; i < HLL_M; i++) direct[i] = Math.max(direct[i] as number, r[i] as number);
    }
    const ab = hllMerge(...sketches);
    const ba = hllMerge(...[...sketches].reverse());
    const nested = hllMerge(
      hllMerge(sketches[0]!, sketches[3]!),
      hllMerge(...sketches.slice(1, 3), ...sketches.slice(4)),
    );
    expect(hllRegisters(ab)).toEqual(direct);
    expect(hllRegisters(ba)).toEqual(direct);
    expect(hllRegisters(nested)).toEqual(direct);
    expect(hllRegisters(hllMerge(ab, ab))).toEqual(direct);
    expect(hllRegisters(allS)).toEqual(direct);
    expect(hllCount(ab)).toBe(hllCount(allS));
  });

  it('merging small sparse sketches stays sparse and exact', () => {
    const a = hllEmpty();
    const b = hllEmpty();
    for (const v of values(300, 'a')) hllAdd(a, v);
    for (const v of values(300, 'a').slice(100)) hllAdd(b, v);
    for (const v of values(50, 'b')) hllAdd(b, v);
    const m = hllMerge(a, b);
    expect(m.k).toBe('s');
    expect(hllCount(m)).toBe(350);
    expect(hllCount(a)).toBe(300); // inputs untouched
  });

  it('survives a JSON round trip and copies are independent', () => {
    let s = hllEmpty();
    for (const v of values(3000, 'j')) s = hllAdd(s, v);
    const back = JSON.parse(JSON.stringify(s)) as Hll;
    expect(hllCount(back)).toBe(hllCount(s));
    const c = hllClone(s);
    hllAddHash(c, 0); // index 0, maximal register value
    expect(hllRegisters(s)).not.toEqual(hllRegisters(c));
    expect(() => hllCount({ k: 'd', r: 'A'.repeat(10) })).toThrow(RangeError);
    expect(() => hllCount({ k: 'd', r: '!'.repeat(HLL_M) })).toThrow(RangeError);
  });
});
