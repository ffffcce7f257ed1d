/**
 * Bound values pre-encoded for the driver, which sends a Buffer parameter as it is (CQL native
 * protocol value bytes): the upsert sink's values of the types whose generic encoding costs
 * most for what they are.
 */

const TWO_32 = 2 ** 32;

/**
 * A CQL `bigint` (or `timestamp`: epoch ms, the same bytes): 8 bytes, big-endian two's
 * complement. The driver turns a number first into a Long object and then a Buffer
 * (Long.fromNumber + toBuffer); the sink binds 1–4 bigints per row (write timestamp, ts_ms,
 * counts), so this is one object per value instead of two or three.
 *
 * Same value as the driver's conversion (Long.fromNumber): the integer part, truncated toward
 * zero, NaN as 0. Beyond ±2^53 a double has no exact integer and would be silently rounded:
 * refused instead (no row value of the pipeline comes near: microsecond timestamps are ~2^51).
 */
export function bigintBytes(value: number): Buffer {
  const n = Number.isNaN(value) ? 0 : Math.trunc(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint value ${value} is outside ±2^53`);
  const buf = Buffer.allocUnsafe(8);
  const high = Math.floor(n / TWO_32);
  buf.writeInt32BE(high, 0);
  buf.writeUInt32BE(n - high * TWO_32, 4);
  return buf;
}

/**
 * A CQL `list<text>` (the score's reasons): a count, then each item's UTF-8 byte length and
 * bytes, all in one buffer. The driver's encodeList makes a length buffer and a value buffer per
 * item and concatenates them (1.3% of a user worker's CPU). An empty list is null, as the driver
 * sends it, so the cells written stay those of earlier versions.
 */
export function textListBytes(items: readonly string[]): Buffer | null {
  if (items.length === 0) return null;
  let size = 4;
  for (const item of items) {
    if (typeof item !== 'string') throw new TypeError(`list<text> item ${String(item)} is not a string`);
    size += 4 + Buffer.byteLength(item, 'utf8');
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(items.length, 0);
  let at = 4;
  for (const item of items) {
    const n = buf.write(item, at + 4, 'utf8');
    buf.writeInt32BE(n, at);
    at += 4 + n;
  }
  return buf;
}
