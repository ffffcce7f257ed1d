/**
 * Deterministic string hashing for sketches and compact state: MurmurHash3 (x86, 32-bit) over the
 * UTF-8 bytes of a string, and a 52-bit hash built from two independently seeded 32-bit hashes.
 *
 * Why our own: sketches persisted in Redis must hash identically in every process and version
 * forever; a dependency's hash may change across releases. Why 52 bits: it is the widest integer a
 * JS number holds exactly, so a hash is a plain JSON number (no BigInt, no string encoding) while
 * still making collisions negligible far beyond the cardinalities we count (2^26 ≈ 67 M for p=0.5).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  let x = Math.imul(k, C1);
  x = (x << 15) | (x >>> 17);
  return Math.imul(x, C2);
}

function mixH(h: number, k: number): number {
  let x = h ^ mixK(k);
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

function fmix(h0: number): number {
  let h = h0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3_x86_32 of the UTF-8 encoding of `s` (identical to the reference implementation on
 * the same bytes). Encodes on the fly: no TextEncoder allocation per call.
 * @returns an unsigned 32-bit integer
 */
export function murmur3(s: string, seed = 0): number {
  const ascii = murmur3Ascii(s, seed);
  return ascii >= 0 ? ascii : murmur3Utf8(s, seed);
}

/**
 * The same hash for an ASCII string (its UTF-8 bytes are its char codes), four chars per block
 * and no closure; -1 when `s` holds a non-ASCII char. Ids are ASCII: this is every sketch add.
 */
function murmur3Ascii(s: string, seed: number): number {
  let h = seed | 0;
  const n = s.length;
  const whole = n & ~3;
  for (let i = 0; i < whole; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return -1;
    h = mixH(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  let k = 0;
  for (let i = whole; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    k |= c << (8 * (i - whole));
  }
  if (n > whole) h ^= mixK(k);
  h ^= n;
  return fmix(h);
}

function murmur3Utf8(s: string, seed: number): number {
  let h = seed | 0;
  let k = 0; // pending bytes, little-endian
  let nk = 0; // how many bytes are pending in k
  let len = 0;
  const push = (byte: number): void => {
    k |= byte << (8 * nk);
    nk++;
    len++;
    if (nk === 4) {
      h = mixH(h, k);
      k = 0;
      nk = 0;
    }
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) push(c);
    else if (c < 0x800) {
      push(0xc0 | (c >> 6));
      push(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 0x3f));
      push(0x80 | (c & 0x3f));
    } else {
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 0x3f));
      push(0x80 | ((c >> 6) & 0x3f));
      push(0x80 | (c & 0x3f));
    }
  }
  if (nk > 0) h ^= mixK(k);
  h ^= len;
  return fmix(h);
}

/** Seeds of the two halves of {@link hash52}; changing them invalidates every stored sketch. */
const SEED_HI = 0x3c6ef372;
const SEED_LO = 0x9747b28c;
const TWO_POW_20 = 0x100000;

/**
 * A 52-bit hash of `s` as an exact non-negative integer (< 2^52): 32 bits from one seeded
 * murmur3 and the top 20 bits of a second, differently seeded one.
 */
export function hash52(s: string): number {
  const hi = murmur3(s, SEED_HI);
  const lo = murmur3(s, SEED_LO) >>> 12;
  return hi * TWO_POW_20 + lo;
}
