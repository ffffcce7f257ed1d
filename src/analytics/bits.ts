/**
 * Bit-level writer and reader with Rice codes (Golomb codes with a power-of-two parameter), for
 * storage formats of sorted integer sets (hll-pack.ts). Bits are written most significant first.
 *
 * A Rice code of x ≥ 0 with parameter k: q = ⌊x / 2^k⌋ one-bits, a zero-bit, then the low k bits
 * of x. For a sorted set coded as gaps with k = ⌊log2(span / n)⌋, the one-bits total at most 2n,
 * so the set costs ≤ n·(k + 3) bits whatever its spacing. Values up to 2^53 are exact: wide ones
 * are split into 24-bit chunks so the accumulator stays a 31-bit integer.
 */

const CHUNK = 24;
const TWO_POW_CHUNK = 2 ** CHUNK;

export class BitWriter {
  #bytes: Uint8Array;
  #pos = 0;
  #acc = 0;
  #bits = 0;

  constructor(capacityBits: number) {
    this.#bytes = new Uint8Array(Math.ceil(capacityBits / 8) + 8);
  }

  /** Writes the low `bits` (≤ 24) bits of `value` (a non-negative integer below 2^bits). */
  write(value: number, bits: number): void {
    this.#acc = (this.#acc << bits) | value;
    this.#bits += bits;
    while (this.#bits >= 8) {
      this.#bits -= 8;
      this.#push((this.#acc >>> this.#bits) & 0xff);
    }
    this.#acc &= (1 << this.#bits) - 1;
  }

  /** Writes `value` (an integer in [0, 2^bits), bits ≤ 53) in `bits` bits. */
  writeWide(value: number, bits: number): void {
    if (bits <= CHUNK) {
      this.write(value, bits);
      return;
    }
    const high = Math.floor(value / TWO_POW_CHUNK);
    this.writeWide(high, bits - CHUNK);
    this.write(value - high * TWO_POW_CHUNK, CHUNK);
  }

  /** Rice code of `value` ≥ 0 with parameter `k`. */
  rice(value: number, k: number): void {
    const scale = 2 ** k;
    let q = Math.floor(value / scale);
    while (q >= CHUNK) {
      this.write(TWO_POW_CHUNK - 1, CHUNK);
      q -= CHUNK;
    }
    this.write((1 << (q + 1)) - 2, q + 1); // q ones, then a zero
    this.writeWide(value - Math.floor(value / scale) * scale, k);
  }

  /** Everything written, the last byte padded with zero-bits, as standard base64. */
  toBase64(): string {
    if (this.#bits > 0) this.write(0, 8 - this.#bits);
    return Buffer.from(this.#bytes.buffer, 0, this.#pos).toString('base64');
  }

  #push(byte: number): void {
    if (this.#pos === this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes[this.#pos++] = byte;
  }
}

export class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;

  /** @throws RangeError when `base64` is not canonical standard base64 (corrupt state) */
  constructor(base64: string) {
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.toString('base64') !== base64) throw new RangeError('packed bits: invalid base64');
    this.#bytes = bytes;
  }

  /** @throws RangeError past the end */
  bit(): number {
    const byte = this.#bytes[this.#bit >>> 3];
    if (byte === undefined) throw new RangeError('packed bits: read past the end');
    const b = (byte >>> (7 - (this.#bit & 7))) & 1;
    this.#bit += 1;
    return b;
  }

  /** `bits` (≤ 53) bits as an unsigned integer. */
  read(bits: number): number {
    if (bits > CHUNK) {
      const high = this.read(bits - CHUNK);
      return high * TWO_POW_CHUNK + this.read(CHUNK);
    }
    if (bits === 0) return 0;
    const at = this.#bit;
    if (at + bits > this.#bytes.length * 8) throw new RangeError('packed bits: read past the end');
    const i = at >>> 3;
    const b = this.#bytes;
    // 4 bytes from the one holding the first bit (missing ones past the end read as 0): an
    // offset ≤ 7 plus ≤ 24 bits fits.
    const word = (((b[i] as number) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
    this.#bit = at + bits;
    return ((word << (at & 7)) >>> 0) >>> (32 - bits);
  }

  rice(k: number): number {
    let q = 0;
    while (this.bit() === 1) q += 1;
    return q * 2 ** k + this.read(k);
  }

  /** True when only the zero padding of the last byte is left. */
  atEnd(): boolean {
    const total = this.#bytes.length * 8;
    if (total - this.#bit >= 8) return false;
    while (this.#bit < total) if (this.bit() !== 0) return false;
    return true;
  }
}
