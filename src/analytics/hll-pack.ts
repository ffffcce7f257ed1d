/**
 * A compact text form of an {@link Hll} sketch, for stored states that hold many of them (the
 * merchant state, version 2). Lossless: unpacking gives the same hashes or registers, so every
 * count and merge is unchanged.
 *
 * Format (JSON-safe, no escaping; changing it invalidates stored merchant states v2):
 *   "s<n>.<k>.<b64>"  sparse, n hashes: the sorted hashes as Rice-coded gaps with parameter k
 *                     (bits.ts): h[0], then h[i] − h[i−1] − 1.
 *   "z<n>.<k>.<b64>"  dense with n non-zero registers: for each, in index order, its index gap
 *                     (i − previous i − 1, the first from −1) Rice-coded with k, then its value
 *                     in 6 bits.
 *   "d<r>"            dense as stored in version 1: the 16,384 base64 register chars.
 * <n>, <k> are decimal; <b64> is standard base64 of the bits, zero-padded to a byte.
 *
 * Why: version 1 spelt each sparse hash as a ~17-digit decimal (18 bytes with its comma), ~7.5
 * here; a dense sketch that just left sparse (> 1,024 users of 16,384 registers) has ~94% zero
 * registers, which "z" skips (~2 KB instead of 16 KB). "z" is used only when shorter than "d".
 */
import { BitReader, BitWriter } from './bits.ts';
import { HLL_M, HLL_P, type Hll, hllDenseOf, hllRegisters } from './hll.ts';

const HASH_LIMIT = 2 ** 52;
const MAX_REGISTER = 52 - HLL_P + 1;
const VALUE_BITS = 6;

/** Rice parameter for n gaps summing to at most `span`: keeps the unary parts ≤ 2n bits. */
function riceK(span: number, n: number): number {
  return n === 0 || span <= n ? 0 : Math.floor(Math.log2(span / n));
}

export function packHll(s: Hll): string {
  return s.k === 's' ? packSparse(s.h) : packDense(s.r, hllRegisters(s));
}

function packSparse(h: readonly number[]): string {
  const n = h.length;
  const k = riceK(n === 0 ? 0 : (h[n - 1] as number) + 1, n);
  const w = new BitWriter(n * (k + 3));
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const x = h[i] as number;
    w.rice(x - prev - 1, k);
    prev = x;
  }
  return `s${n}.${k}.${w.toBase64()}`;
}

function packDense(r: string, regs: Uint8Array): string {
  let n = 0;
  for (let i = 0; i < HLL_M; i++) if (regs[i] !== 0) n += 1;
  const k = riceK(HLL_M, n);
  const boundBits = n * (k + 3 + VALUE_BITS);
  if (boundBits / 6 >= HLL_M) return `d${r}`; // "z" could not be shorter
  const w = new BitWriter(boundBits);
  let prev = -1;
  for (let i = 0; i < HLL_M; i++) {
    const v = regs[i] as number;
    if (v === 0) continue;
    w.rice(i - prev - 1, k);
    w.write(v, VALUE_BITS);
    prev = i;
  }
  const z = `z${n}.${k}.${w.toBase64()}`;
  return z.length < r.length + 1 ? z : `d${r}`;
}

/** @throws RangeError on text that is not a packed sketch (corrupt state must not be counted) */
export function unpackHll(text: string): Hll {
  const kind = text[0];
  if (kind === 'd') {
    const s: Hll = { k: 'd', r: text.slice(1) };
    hllRegisters(s); // validates
    return s;
  }
  const m = /^[sz](\d{1,5})\.(\d{1,2})\./.exec(text);
  if (m === null) throw new RangeError('packed HLL: bad header');
  const n = Number(m[1]);
  const k = Number(m[2]);
  const bits = new BitReader(text.slice(m[0].length));
  const out = kind === 's' ? unpackSparse(bits, n, k) : unpackDense(bits, n, k);
  if (!bits.atEnd()) throw new RangeError('packed HLL: trailing bits');
  return out;
}

function unpackSparse(bits: BitReader, n: number, k: number): Hll {
  const h = new Array<number>(n);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    prev = prev + 1 + bits.rice(k);
    if (prev >= HASH_LIMIT) throw new RangeError('packed HLL: hash out of range');
    h[i] = prev;
  }
  return { k: 's', h };
}

function unpackDense(bits: BitReader, n: number, k: number): Hll {
  const regs = new Uint8Array(HLL_M);
  let prev = -1;
  for (let i = 0; i < n; i++) {
    prev = prev + 1 + bits.rice(k);
    const v = bits.read(VALUE_BITS);
    if (prev >= HLL_M || v === 0 || v > MAX_REGISTER) throw new RangeError('packed HLL: bad register');
    regs[prev] = v;
  }
  return hllDenseOf(regs);
}
