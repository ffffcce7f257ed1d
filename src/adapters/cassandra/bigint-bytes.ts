/**
 * A CQL `bigint` value pre-encoded for the driver: 8 bytes, big-endian two's complement. The
 * driver sends a Buffer parameter as it is, where a number first becomes a Long object and
 * then a Buffer (Long.fromNumber + toBuffer); the upsert sink binds 1–4 bigints per row (write
 * timestamp, ts_ms, counts), so this is one object per value instead of two or three.
 *
 * Same value as the driver's conversion (Long.fromNumber): the integer part, truncated toward
 * zero, NaN as 0. Beyond ±2^53 a double has no exact integer and would be silently rounded:
 * refused instead (no row value of the pipeline comes near: microsecond timestamps are ~2^51).
 */
const TWO_32 = 2 ** 32;

export function bigintBytes(value: number): Buffer {
  const n = Number.isNaN(value) ? 0 : Math.trunc(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint value ${value} is outside ±2^53`);
  const buf = Buffer.allocUnsafe(8);
  const high = Math.floor(n / TWO_32);
  buf.writeInt32BE(high, 0);
  buf.writeUInt32BE(n - high * TWO_32, 4);
  return buf;
}
